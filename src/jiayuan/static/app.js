// Behaviour every page shares, without inline handlers (the Content-Security-Policy allows no inline script).
// <select data-autosubmit> submits its form when the choice changes; <button data-print> prints the page.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
});
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
