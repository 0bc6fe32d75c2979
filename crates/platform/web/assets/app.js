// suanli web: the only script. Progressive enhancement; every page works without it.
(function () {
  "use strict";
  // Menu toggle on narrow screens.
  var t = document.querySelector(".menu-toggle");
  var nav = document.getElementById("topnav");
  if (t && nav) {
    t.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      t.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // Registration: show the fields of the chosen account type.
  var kind = document.getElementById("f-kind");
  function showKind() {
    document.querySelectorAll("fieldset[data-kind]").forEach(function (fs) {
      var on = fs.getAttribute("data-kind") === kind.value;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  }
  if (kind && document.querySelector("fieldset[data-kind]")) {
    kind.addEventListener("change", showKind);
    showKind();
  }
  // Focus the first field with an error, so keyboard users land on it.
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) { bad.focus(); }
})();
