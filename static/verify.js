// The landing page records a check only through its own POST: submit the form on load.
// Link previews and mail scanners fetch the page without running this, so they never count.
(function () {
  var form = document.getElementById("verify");
  if (form) { form.submit(); }
})();
