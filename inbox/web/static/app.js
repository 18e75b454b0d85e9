// aduan: the little JavaScript the inbox uses. Everything works without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // List page only: ask every 30 s how many newer cases exist and offer a reload link.
  // It never reloads by itself, so nothing typed is ever lost.
  function pollNewCases() {
    var box = document.getElementById("new-cases");
    if (!box) { return; }
    var url = box.getAttribute("data-count-url") + "?setelah=" + encodeURIComponent(box.getAttribute("data-newest"));
    function check() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.baru > 0) {
            box.querySelector(".count").textContent = data.baru;
            box.hidden = false;
          }
        })
        .catch(function () { /* offline for a moment: try again next time */ });
    }
    window.setInterval(check, 30000);
    box.addEventListener("check-now", check);
  }

  // Case page: choosing a quick-answer template fills the reply box (asks before replacing text).
  function templatePicker() {
    var pickers = document.querySelectorAll("select[data-fill]");
    Array.prototype.forEach.call(pickers, function (select) {
      select.addEventListener("change", function () {
        var option = select.options[select.selectedIndex];
        var target = document.getElementById(select.getAttribute("data-fill"));
        if (!target || !option || !option.value) { return; }
        var text = option.getAttribute("data-text") || "";
        if (target.value.trim() && target.value !== text &&
            !window.confirm("Ganti teks balasan yang sudah diketik dengan templat ini?")) { return; }
        target.value = text;
        target.focus();
      });
    });
  }

  // Case page: "Pakai" on a suggested answer fills the reply box and notes which suggestion it
  // was (recorded when the reply is saved). Without JavaScript the link reloads the page with
  // the suggestion in the box instead.
  function suggestionButtons() {
    var links = document.querySelectorAll("a[data-suggestion]");
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener("click", function (event) {
        var target = document.getElementById(link.getAttribute("data-fill"));
        if (!target) { return; }
        event.preventDefault();
        var text = link.getAttribute("data-text") || "";
        if (target.value.trim() && target.value !== text &&
            !window.confirm("Ganti teks yang sudah diketik dengan saran ini?")) { return; }
        target.value = text;
        var form = target.form;
        if (form) {
          form.querySelector("#suggestion-key").value = link.getAttribute("data-suggestion");
          form.querySelector("#suggestion-text").value = text;
          form.querySelector("#suggestion-worded").value = "";
        }
        target.focus();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollNewCases();
    templatePicker();
    suggestionButtons();
  });
})();
