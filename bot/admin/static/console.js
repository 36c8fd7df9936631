// 科协助手 staff console: the little the pages need beyond HTML. Everything works without it.
(function () {
  "use strict";
  // Filters and sort menus apply as soon as they change.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) el.form.submit(); });
  });
  // The menu is a sidebar on a desk and folds away on a phone.
  var menu = document.getElementById("menu");
  if (menu) {
    var wide = window.matchMedia("(min-width: 900px)");
    var sync = function () { if (wide.matches) menu.open = true; };
    sync();
    wide.addEventListener("change", sync);
  } else {
    document.body.classList.add("no-menu");
  }
})();
