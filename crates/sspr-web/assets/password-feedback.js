// Live password feedback: while the user types a new password, ask the server which rules it
// passes (the server's answer never names a banned term) and show them. Without JavaScript
// the form still works; the server checks everything again on submit.
(function () {
  "use strict";
  var input = document.getElementById("new-password");
  var list = document.getElementById("password-rules");
  if (!input || !list) { return; }
  var timer = null;
  var latest = 0;
  // The page gives the words in its language.
  var labels = (list.getAttribute("data-scores") || "too guessable|very weak|weak|good|strong").split("|");
  var strengthLabel = list.getAttribute("data-strength") || "Strength:";

  function item(text, passed) {
    var li = document.createElement("li");
    li.className = passed ? "pass" : "fail";
    li.textContent = (passed ? "✓ " : "✗ ") + text;
    return li;
  }

  function show(result) {
    list.replaceChildren();
    result.rules.forEach(function (r) { list.appendChild(item(r.message, r.passed)); });
    var s = result.strength;
    var strength = item(strengthLabel + " " + labels[s.score] + (s.warning ? " — " + s.warning : ""), s.score >= 3);
    list.appendChild(strength);
  }

  function check() {
    var mine = ++latest;
    if (input.value === "") { list.replaceChildren(); return; }
    fetch("/api/v1/password/check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ password: input.value })
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) { if (result && mine === latest) { show(result); } })
      .catch(function () { /* feedback is a nicety; the submit is checked anyway */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
})();
