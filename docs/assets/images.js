// Marks how the page's pictures loaded, as the gallery's pages do: each <img> gets data-natural-width (0 when it
// failed) and <body> gets data-images="LOADED/TOTAL" once every picture has settled. tests/test_docs_site.py reads
// both in headless Chromium to check that the built site shows its pictures.
(function () {
  function mark() {
    var images = Array.prototype.slice.call(document.images);
    var loaded = 0;
    images.forEach(function (image) {
      image.setAttribute("data-natural-width", String(image.naturalWidth || 0));
      if (image.complete && image.naturalWidth > 0) loaded += 1;
    });
    document.body.setAttribute("data-images", loaded + "/" + images.length);
  }
  window.addEventListener("load", mark);
})();
