/* Forms that file something (data-submit-once): the first press sends, further presses
   while the next page loads do nothing, and the pressed button says it is busy. A file,
   not an inline script: the Content-Security-Policy allows no inline script. Without
   JavaScript the server answers a repeated filing with the first one's result. */
(function () {
  "use strict";
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var files = button && button.hasAttribute("formaction");
      if (!files) { return; }  // only the filing button: 「変更する」 and 「一時保存」 stay free
      if (form.dataset.sent === "1") { event.preventDefault(); return; }
      form.dataset.sent = "1";
      // After this event the browser has read the button into the submission: disabling it
      // now keeps its formaction and value.
      window.setTimeout(function () {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
      }, 0);
    });
  });
})();
