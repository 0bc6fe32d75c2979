//! A minimal W3C WebDriver client over blocking HTTP, enough to drive headless Chromium
//! through `chromedriver` for the browser tests and `suanli web screenshots`: start the
//! driver on a free loopback port, open a session, navigate, find elements by CSS, type,
//! click, read text and page source, take PNG screenshots.

use crate::WebtestError as WebError;
use base64::Engine;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The key of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long the driver may take to start, in milliseconds.
pub const DRIVER_START_MS_MAX: u64 = 20_000;
/// How long a wait for an element may take, in milliseconds.
pub const WAIT_MS_MAX: u64 = 10_000;
/// How long a click on a link or button waits for the next page, in ms.
pub const NAVIGATION_WAIT_MS_MAX: u64 = 3_000;

/// The message when Chromium or its driver is missing.
pub const MISSING: &str = "chromedriver/chromium not found: run scripts/ensure-chromium.sh (installs the Debian packages chromium and chromium-driver) and run the tests again";

fn err(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// Whether `chromedriver` and a Chromium binary are on this machine.
pub fn available() -> bool {
    which("chromedriver").is_some() && chromium_binary().is_some()
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn chromium_binary() -> Option<std::path::PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| which(n))
}

/// A running `chromedriver`; killed when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    agent: ureq::Agent,
}

impl Driver {
    /// Starts `chromedriver` on a free loopback port and waits until it is ready.
    pub fn start() -> Result<Self, WebError> {
        let exe = which("chromedriver").ok_or_else(|| err(MISSING))?;
        if chromium_binary().is_none() {
            return Err(err(MISSING));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(err)?
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(err)?;
        let agent = ureq::Agent::new_with_config(
            ureq::config::Config::builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build(),
        );
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let start = Instant::now();
        loop {
            let ready = d
                .agent
                .get(format!("{}/status", d.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"].as_bool().unwrap_or(false));
            if ready {
                return Ok(d);
            }
            if start.elapsed() > Duration::from_millis(DRIVER_START_MS_MAX) {
                return Err(err("chromedriver did not become ready"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A new headless browser session with a `width`×`height` window.
    pub fn session(&self, width: u32, height: u32) -> Result<Session, WebError> {
        let mut opts = json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            format!("--window-size={width},{height}"), "--lang=zh-CN", "--hide-scrollbars"
        ]});
        if let Some(b) = chromium_binary() {
            opts["binary"] = json!(b.display().to_string());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": opts}}});
        let v = send(
            &self.agent,
            "POST",
            &format!("{}/session", self.base),
            Some(&caps),
        )?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| err(format!("no session: {v}")))?
            .to_owned();
        Ok(Session {
            base: format!("{}/session/{id}", self.base),
            agent: self.agent.clone(),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<Value, WebError> {
    let r = match method {
        "GET" => agent.get(url).call(),
        "DELETE" => agent.delete(url).call(),
        _ => agent
            .post(url)
            .header("content-type", "application/json")
            .send(
                body.map_or_else(|| "{}".to_owned(), Value::to_string)
                    .as_bytes(),
            ),
    };
    let mut r = r.map_err(err)?;
    let status = r.status().as_u16();
    let v: Value = r.body_mut().read_json().map_err(err)?;
    if status >= 400 {
        return Err(err(format!(
            "webdriver {method} {url}: {status} {}",
            v["value"]
        )));
    }
    Ok(v["value"].clone())
}

/// One browser session; ended when dropped.
#[derive(Debug)]
pub struct Session {
    base: String,
    agent: ureq::Agent,
}

/// An element on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WebError> {
        send(
            &self.agent,
            method,
            &format!("{}{path}", self.base),
            body.as_ref(),
        )
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) -> Result<(), WebError> {
        self.call("POST", "/url", Some(json!({"url": url})))?;
        Ok(())
    }

    /// The current URL.
    pub fn url(&self) -> Result<String, WebError> {
        Ok(self
            .call("GET", "/url", None)?
            .as_str()
            .unwrap_or("")
            .to_owned())
    }

    /// The page source.
    pub fn source(&self) -> Result<String, WebError> {
        Ok(self
            .call("GET", "/source", None)?
            .as_str()
            .unwrap_or("")
            .to_owned())
    }

    /// The first element matching `css`, waiting for it up to [`WAIT_MS_MAX`].
    pub fn find(&self, css: &str) -> Result<Element, WebError> {
        let start = Instant::now();
        loop {
            match self.call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            ) {
                Ok(v) => {
                    if let Some(id) = v[ELEMENT_KEY].as_str() {
                        return Ok(Element(id.to_owned()));
                    }
                }
                Err(e) if start.elapsed() > Duration::from_millis(WAIT_MS_MAX) => {
                    return Err(err(format!("no element {css}: {e}")));
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every element matching `css` (no wait).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>, WebError> {
        let v = self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| Element(s.to_owned())))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Clears the field `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) -> Result<(), WebError> {
        let e = self.find(css)?;
        self.call("POST", &format!("/element/{}/clear", e.0), Some(json!({})))?;
        self.call(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )?;
        Ok(())
    }

    /// Clicks the element `css`. A click on a link or a button loads the next page; the
    /// call returns once the old page is gone (or after [`NAVIGATION_WAIT_MS_MAX`] if the click did
    /// not navigate), so what is read next is never the page before the click.
    pub fn click(&self, css: &str) -> Result<(), WebError> {
        let e = self.find(css)?;
        let tag = self
            .call("GET", &format!("/element/{}/name", e.0), None)?
            .as_str()
            .unwrap_or("")
            .to_ascii_lowercase();
        let old_page = if matches!(tag.as_str(), "a" | "button" | "input") {
            Some(self.find("html")?)
        } else {
            None
        };
        self.call("POST", &format!("/element/{}/click", e.0), Some(json!({})))?;
        if let Some(old) = old_page {
            self.wait_gone(&old);
        }
        Ok(())
    }

    /// Waits until `e` no longer belongs to the document (a new page replaced it), for at
    /// most [`NAVIGATION_WAIT_MS_MAX`].
    fn wait_gone(&self, e: &Element) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(NAVIGATION_WAIT_MS_MAX) {
            if self
                .call("GET", &format!("/element/{}/name", e.0), None)
                .is_err()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The visible text of the element `css`.
    pub fn text(&self, css: &str) -> Result<String, WebError> {
        let e = self.find(css)?;
        self.element_text(&e)
    }

    /// The visible text of `e`.
    pub fn element_text(&self, e: &Element) -> Result<String, WebError> {
        Ok(self
            .call("GET", &format!("/element/{}/text", e.0), None)?
            .as_str()
            .unwrap_or("")
            .to_owned())
    }

    /// The element that has the keyboard focus, as its `id` attribute.
    pub fn focused_id(&self) -> Result<String, WebError> {
        let v = self.call("GET", "/element/active", None)?;
        let id = v[ELEMENT_KEY].as_str().unwrap_or("").to_owned();
        Ok(self
            .call("GET", &format!("/element/{id}/attribute/id"), None)?
            .as_str()
            .unwrap_or("")
            .to_owned())
    }

    /// A PNG screenshot of the window.
    pub fn screenshot(&self) -> Result<Vec<u8>, WebError> {
        let v = self.call("GET", "/screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .map_err(err)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = send(&self.agent, "DELETE", &self.base, None);
    }
}
