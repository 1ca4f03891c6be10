// Small behaviours for the staff screens, kept out of the HTML so the CSP needs no inline script.
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-submit-on-change]")) {
    event.target.form.submit();
  }
});
