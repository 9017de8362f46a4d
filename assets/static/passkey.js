// Passkeys on sesame's pages: the only script of the sign-in and account pages, and only on
// those that offer a passkey (the WebAuthn API is JavaScript only). Every other way to sign in
// works without it.
//
// A `form.passkey` carries `data-options` (where to POST for the options, with the form's
// hidden fields) and `data-mode` ("get": sign in; "create": add a passkey). The script asks the
// browser, puts its answer (JSON, binary values base64url) into the form's `credential` field
// and submits the form: the server answers as for any form (Post/Redirect/Get).
// `data-conditional` names the input whose autofill offers passkeys (conditional mediation).
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  var b64 = {
    decode: function (s) {
      s = s.replace(/-/g, "+").replace(/_/g, "/");
      while (s.length % 4) s += "=";
      var bin = atob(s), out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out.buffer;
    },
    encode: function (buf) {
      var bytes = new Uint8Array(buf), bin = "";
      for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
  };
  function fields(form) {
    var body = new URLSearchParams();
    form.querySelectorAll("input[type=hidden]").forEach(function (i) {
      if (i.name !== "credential") body.append(i.name, i.value);
    });
    return body;
  }
  function say(form, text) {
    var s = form.querySelector(".passkey-status");
    if (s) s.textContent = text;
  }
  function options(form) {
    return fetch(form.dataset.options, { method: "POST", body: fields(form), credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) throw new Error(j.error || "the server refused");
          return j;
        });
      });
  }
  function publicKey(mode, o) {
    o.challenge = b64.decode(o.challenge);
    if (mode === "create") {
      o.user.id = b64.decode(o.user.id);
      (o.excludeCredentials || []).forEach(function (c) { c.id = b64.decode(c.id); });
    } else {
      (o.allowCredentials || []).forEach(function (c) { c.id = b64.decode(c.id); });
    }
    return o;
  }
  function answer(mode, cred) {
    var r = cred.response, out = { id: cred.id, clientDataJson: b64.encode(r.clientDataJSON) };
    if (mode === "create") {
      out.attestationObject = b64.encode(r.attestationObject);
      out.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.authenticatorData = b64.encode(r.authenticatorData);
      out.signature = b64.encode(r.signature);
      out.userHandle = r.userHandle ? b64.encode(r.userHandle) : null;
    }
    return JSON.stringify(out);
  }
  var pending = null;
  function run(form, conditional) {
    var mode = form.dataset.mode;
    if (pending) pending.abort();
    var ctl = new AbortController();
    pending = ctl;
    if (!conditional) say(form, "Waiting for your passkey…");
    return options(form).then(function (o) {
      var req = { publicKey: publicKey(mode, o), signal: ctl.signal };
      if (conditional) req.mediation = "conditional";
      return mode === "create" ? navigator.credentials.create(req) : navigator.credentials.get(req);
    }).then(function (cred) {
      if (!cred) return;
      form.querySelector("input[name=credential]").value = answer(mode, cred);
      say(form, "Checking…");
      form.submit();
    }).catch(function (e) {
      if (ctl.signal.aborted) return;
      if (conditional) return;
      say(form, e && e.name === "NotAllowedError"
        ? "No passkey was used. Try again, or use another way."
        : "The passkey did not work: " + (e && e.message ? e.message : e) + ".");
    });
  }
  // The email form tells the server whether this device can keep a passkey, so that a user
  // without one may be offered to add one after the code.
  var platform = document.querySelector("input[name=platform_authenticator]");
  if (platform && PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable) {
    PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable().then(function (yes) {
      platform.value = yes ? "1" : "";
    });
  }
  document.querySelectorAll("form.passkey").forEach(function (form) {
    form.hidden = false;
    var button = form.querySelector(".passkey-start");
    if (button) button.addEventListener("click", function () { run(form, false); });
    if (form.dataset.conditional && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) run(form, true);
      });
    }
  });
})();
