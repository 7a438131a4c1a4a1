// Gallery script 2 of 5: marks that it ran, so a reader can see every file arrived.
(function () {
  const name = "script-2";
  const done = (document.body.dataset.scripts || "").split(" ").filter(Boolean);
  done.push(name);
  document.body.dataset.scripts = done.join(" ");
  const out = document.getElementById("scripts");
  if (out) {
    out.textContent = done.length + " of 5 scripts ran: " + done.join(", ");
  }
  // 00: the page-load scenario asks for every file of this page at once.
  // 01: the page-load scenario asks for every file of this page at once.
  // 02: the page-load scenario asks for every file of this page at once.
  // 03: the page-load scenario asks for every file of this page at once.
  // 04: the page-load scenario asks for every file of this page at once.
  // 05: the page-load scenario asks for every file of this page at once.
  // 06: the page-load scenario asks for every file of this page at once.
  // 07: the page-load scenario asks for every file of this page at once.
  // 08: the page-load scenario asks for every file of this page at once.
  // 09: the page-load scenario asks for every file of this page at once.
  // 10: the page-load scenario asks for every file of this page at once.
  // 11: the page-load scenario asks for every file of this page at once.
  // 12: the page-load scenario asks for every file of this page at once.
  // 13: the page-load scenario asks for every file of this page at once.
  // 14: the page-load scenario asks for every file of this page at once.
  // 15: the page-load scenario asks for every file of this page at once.
  // 16: the page-load scenario asks for every file of this page at once.
  // 17: the page-load scenario asks for every file of this page at once.
  // 18: the page-load scenario asks for every file of this page at once.
  // 19: the page-load scenario asks for every file of this page at once.
  // 20: the page-load scenario asks for every file of this page at once.
  // 21: the page-load scenario asks for every file of this page at once.
  // 22: the page-load scenario asks for every file of this page at once.
  // 23: the page-load scenario asks for every file of this page at once.
  // 24: the page-load scenario asks for every file of this page at once.
  // 25: the page-load scenario asks for every file of this page at once.
})();
