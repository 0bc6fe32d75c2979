#!/usr/bin/env bash
# Makes headless Chromium and its WebDriver (chromedriver) available for the browser tests
# of the web consoles (tools/webtest/tests/browser.rs) and `suanli web screenshots`. Installs the Debian
# packages `chromium`, `chromium-driver` and a Chinese font (`fonts-wqy-microhei`, so
# Chinese pages render as text in screenshots) when missing (needs root, or sudo). Sourced
# by scripts/test.sh; may also be run on its own.

have_chromium() {
  command -v chromedriver >/dev/null 2>&1 \
    && { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } \
    && { ! command -v fc-list >/dev/null 2>&1 || fc-list :lang=zh | grep -q .; }
}

if ! have_chromium; then
  echo "== chromium/chromedriver (or a Chinese font) not found; installing chromium, chromium-driver, fonts-wqy-microhei"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
  fi
fi

if have_chromium; then
  echo "== chromium ready: $(command -v chromedriver)"
else
  echo "chromium and chromedriver could not be installed; the browser tests cannot run" >&2
  exit 1
fi
