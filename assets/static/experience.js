// The console's sign-in experience: refreshes the preview as you type. The page works without
// it (the Preview button); this only posts the form to the preview endpoint, which saves
// nothing, a moment after the last keystroke, and puts the fragment it answers in place.
(function () {
  "use strict";
  var form = document.getElementById("experience-form");
  var target = document.getElementById("preview");
  if (!form || !target || !window.fetch) {
    return;
  }
  var timer = null;
  var latest = 0;
  function refresh() {
    var asked = ++latest;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.dataset.preview, {
      method: "POST",
      body: body,
      credentials: "same-origin",
    })
      .then(function (r) {
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        // An older answer arriving after a newer one is dropped.
        if (html !== null && asked === latest) {
          target.innerHTML = html;
        }
      })
      .catch(function () {});
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
