// The import page: show the name of the chosen file beside our own "choose a file" button.
document.querySelectorAll(".file-pick").forEach((pick) => {
  const input = pick.querySelector("input[type=file]");
  const name = pick.querySelector(".file-name");
  input.addEventListener("change", () => {
    name.textContent = input.files.length ? input.files[0].name : name.dataset.none;
  });
});
