// Search and filters of the catalog index. Runs from file:// and offline: it only reads the
// page it is on (the data-* attributes of each product card), fetches nothing.
(function () {
  "use strict";

  var search = document.getElementById("search");
  var domainFilter = document.getElementById("domain-filter");
  var archetypeFilter = document.getElementById("archetype-filter");
  var showDeprecated = document.getElementById("show-deprecated");
  var count = document.getElementById("match-count");
  var noMatch = document.getElementById("no-match");
  if (!search) {
    return;
  }
  var cards = Array.prototype.slice.call(document.querySelectorAll(".product-card"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.domain"));

  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var domain = domainFilter.value;
    var archetype = archetypeFilter.value;
    var deprecated = showDeprecated.checked;
    var shown = 0;

    cards.forEach(function (card) {
      var text = card.getAttribute("data-search") || "";
      var visible =
        words.every(function (word) { return text.indexOf(word) !== -1; }) &&
        (!domain || card.getAttribute("data-domain") === domain) &&
        (!archetype || card.getAttribute("data-archetype") === archetype) &&
        (deprecated || card.getAttribute("data-deprecated") !== "true");
      card.hidden = !visible;
      card.querySelectorAll(".version").forEach(function (version) {
        version.hidden = !deprecated && version.getAttribute("data-deprecated") === "true";
      });
      if (visible) {
        shown += 1;
      }
    });
    sections.forEach(function (section) {
      section.hidden = !section.querySelector(".product-card:not([hidden])");
    });
    count.textContent = shown + " of " + cards.length + " product" + (cards.length === 1 ? "" : "s");
    noMatch.hidden = shown !== 0 || cards.length === 0;
  }

  search.addEventListener("input", apply);
  [domainFilter, archetypeFilter, showDeprecated].forEach(function (control) {
    control.addEventListener("change", apply);
  });
  document.addEventListener("keydown", function (event) {
    var typing = /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (event.key === "/" && !typing) {
      event.preventDefault();
      search.focus();
    } else if (event.key === "Escape" && document.activeElement === search) {
      search.value = "";
      apply();
    }
  });
  // The browser may restore the controls' values on back navigation: filter by them.
  window.addEventListener("pageshow", apply);
  apply();
})();
