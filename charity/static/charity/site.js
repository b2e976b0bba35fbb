// The site's only script, a file of its own so that the Content-Security-Policy needs no inline script:
// choosing a language in the menu switches at once (without script, the form's button does it).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.lang select[name=language]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
