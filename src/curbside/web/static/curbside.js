/* curbside: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* Character counter for textareas with data-counter="N" (the ask box). Like the GOV.UK
     character count: JavaScript lifts the hard maxlength so a pasted text is not silently cut,
     shows how many characters are left or too many, and stops an over-long submission. */
  function setUpCounter(textarea) {
    var max = parseInt(textarea.getAttribute("data-counter"), 10);
    var field = textarea.closest(".field") || textarea.parentNode;
    var display = field.querySelector("[data-counter-display]");
    var status = field.querySelector("[data-counter-status]");
    if (!max || !display) { return; }
    textarea.removeAttribute("maxlength");
    display.hidden = false;
    var timer = null;

    function message(length) {
      if (length > max) {
        var over = length - max;
        return "You have " + over + " character" + (over === 1 ? "" : "s") + " too many (" +
          length + " / " + max + ")";
      }
      if (length === max) { return max + " / " + max + ": you have reached the limit"; }
      return length + " / " + max;
    }

    function update(announce) {
      var length = textarea.value.length;
      var over = length > max;
      display.textContent = message(length);
      display.classList.toggle("counter-over", length >= max);
      textarea.classList.toggle("textarea-over", over);
      if (over) { textarea.setAttribute("aria-invalid", "true"); }
      else if (!field.classList.contains("field-error")) { textarea.removeAttribute("aria-invalid"); }
      if (status && announce) {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          var left = max - length;
          status.textContent = over ? message(length) :
            "You have " + left + " character" + (left === 1 ? "" : "s") + " remaining";
        }, 1000);
      }
    }

    textarea.addEventListener("input", function () { update(true); });
    var form = textarea.form;
    if (form) {
      form.addEventListener("submit", function (event) {
        if (textarea.value.length > max) {
          event.preventDefault();
          update(false);
          if (status) { status.textContent = message(textarea.value.length) + ". Shorten your question to send it."; }
          textarea.focus();
        }
      });
    }
    update(false);
  }

  /* "Common problem" links on the check form fill the complaint box instead of reloading. */
  function setUpPicks() {
    var box = document.getElementById("complaint");
    if (!box) { return; }
    var links = document.querySelectorAll("a[data-complaint]");
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        box.value = link.getAttribute("data-complaint");
        box.focus();
      });
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-counter]"), setUpCounter);
    setUpPicks();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
