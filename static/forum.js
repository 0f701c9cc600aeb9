// forum's own behaviour on ordinary pages. It lives here, not in the HTML, so the
// Content-Security-Policy can forbid inline script and handlers (script-src 'self').
(function () {
  "use strict";

  // Print buttons (the minutes): the button says data-print, no onclick in the markup.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) window.print();
  });

  // A new series: picking a cadence fills in its usual rule, unless the facilitator already
  // wrote their own. The presets come from the form's data-rrule-presets (JSON).
  function presets() {
    var form = document.querySelector("form[data-rrule-presets]");
    if (!form) return;
    var known = JSON.parse(form.dataset.rrulePresets);
    var cadence = form.querySelector("[name=cadence]"), rule = form.querySelector("[name=rrule]");
    if (!cadence || !rule) return;
    cadence.addEventListener("change", function () {
      var untouched = Object.values(known).indexOf(rule.value) >= 0 || rule.value === "";
      if (untouched && known[cadence.value]) rule.value = known[cadence.value];
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", presets);
  else presets();
})();
