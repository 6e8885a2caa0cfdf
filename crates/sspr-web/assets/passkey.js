// Passkeys: the only part of sspr's pages that needs JavaScript, because only the browser can
// talk to an authenticator. The server makes the challenge and checks the answer; this file
// carries them between the server's JSON and navigator.credentials, converting the binary
// fields (base64url on the wire, ArrayBuffer in the browser).
//
// A form with `data-passkey="register"` adds a passkey to the signed-in user's security info.
// A form with `data-passkey="verify"` answers a reset flow's passkey challenge: its
// `data-options` holds the request options, and the answer goes into its hidden `credential`
// field before the form is submitted normally.
// Status messages come from the form's data-msg-* attributes, so the server localises them.
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBytes(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: toBytes(pk.user.id) });
    o.excludeCredentials = (pk.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: toBytes(c.id) });
    });
    return o;
  }

  function requestOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBytes(pk.challenge);
    o.allowCredentials = (pk.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: toBytes(c.id) });
    });
    return o;
  }

  function registrationJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      },
      clientExtensionResults: cred.getClientExtensionResults()
    };
  }

  function assertionJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      },
      clientExtensionResults: cred.getClientExtensionResults()
    };
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok) { throw new Error(json.message || res.statusText); }
        return json;
      });
    });
  }

  function say(form, key, detail) {
    var out = form.querySelector("[role=status]");
    if (!out) { return; }
    var text = form.getAttribute("data-msg-" + key) || key;
    out.textContent = detail ? text + " " + detail : text;
  }

  function setUpRegistration(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      say(form, "working");
      var name = form.querySelector("[name=name]").value;
      postJson("/api/v1/me/passkeys/options", {})
        .then(function (challenge) {
          return navigator.credentials
            .create({ publicKey: creationOptions(challenge.publicKey) })
            .then(function (cred) {
              return postJson("/api/v1/me/passkeys", {
                ceremony: challenge.ceremony,
                name: name,
                credential: registrationJson(cred)
              });
            });
        })
        .then(function () {
          say(form, "done");
          window.location.assign(window.location.pathname + "?added=passkey");
        })
        .catch(function (err) {
          button.disabled = false;
          say(form, "failed", err && err.name === "NotAllowedError" ? "" : (err && err.message) || "");
        });
    });
  }

  function setUpVerification(form) {
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("[name=credential]");
      if (field.value) { return; } // the answer is in: let the form go
      event.preventDefault();
      var button = form.querySelector("button");
      button.disabled = true;
      say(form, "working");
      var options = JSON.parse(form.getAttribute("data-options"));
      navigator.credentials
        .get({ publicKey: requestOptions(options) })
        .then(function (cred) {
          field.value = JSON.stringify(assertionJson(cred));
          form.submit();
        })
        .catch(function () {
          button.disabled = false;
          say(form, "failed");
        });
    });
  }

  if (!window.PublicKeyCredential) { return; } // the <noscript>-like message stays visible
  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    var unsupported = document.getElementById(form.id + "-unsupported");
    if (unsupported) { unsupported.hidden = true; }
    form.hidden = false;
    if (form.getAttribute("data-passkey") === "verify") {
      setUpVerification(form);
    } else {
      setUpRegistration(form);
    }
  });
})();
