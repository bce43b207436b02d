// The inspection site: one object at a time, scored with the keyboard.
// State lives in localStorage under "ggsltools.inspection.<site id>":
// {inspector, position, scores: {id: {score, comment, time}}}.
(function () {
  "use strict";
  const site = JSON.parse(document.getElementById("site-data").textContent);
  const objects = site.objects;
  const storageKey = "ggsltools.inspection." + site.site_id;
  const SCORE_KEYS = { y: 1, m: 0.5, n: -1 };
  const SCORE_TEXT = { "1": "+1 lens", "0.5": "+0.5 possible", "-1": "\u22121 not a lens" };
  const $ = (id) => document.getElementById(id);

  let state = loadState();
  let showProbability = false;
  let zoom = { scale: 1, x: 0, y: 0 };

  function loadState() {
    let saved = null;
    try {
      saved = JSON.parse(remembered(storageKey));
    } catch (err) {
      saved = null;
    }
    if (!saved || typeof saved !== "object" || typeof saved.scores !== "object") {
      saved = { inspector: null, position: 0, scores: {} };
    }
    saved.position = Math.min(Math.max(0, saved.position | 0), objects.length);
    return saved;
  }

  // Without local storage (a browser that refuses it for files), scoring still
  // works but is lost on closing the page: say so.
  function saveState() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify(state));
      $("storage-warning").hidden = true;
    } catch (err) {
      $("storage-warning").hidden = false;
    }
  }

  function remembered(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (err) {
      return null;
    }
  }

  function picture(object, suffix) {
    return site.cutout_folder + "/" + object.file + "_" + suffix + ".png";
  }

  // Marker coordinates are fractions of the zoom field; the cutout is its centre.
  function drawMarkers(svg, object, inCutout, withLabels) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const ns = "http://www.w3.org/2000/svg";
    const ratio = site.zoom_pixels / site.size_pixels;
    const offset = (1 - 1 / ratio) / 2;
    if (!inCutout) {
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", 100 * offset);
      rect.setAttribute("y", 100 * offset);
      rect.setAttribute("width", 100 / ratio);
      rect.setAttribute("height", 100 / ratio);
      svg.appendChild(rect);
    }
    for (const [fx, fy, z] of object.markers) {
      let x = fx;
      let y = fy;
      if (inCutout) {
        x = (fx - offset) * ratio;
        y = (fy - offset) * ratio;
        if (x < 0 || x > 1 || y < 0 || y > 1) continue;
      }
      const circle = document.createElementNS(ns, "circle");
      circle.setAttribute("cx", 100 * x);
      circle.setAttribute("cy", 100 * y);
      circle.setAttribute("r", inCutout ? 4 : 2);
      svg.appendChild(circle);
      if (withLabels) {
        const label = document.createElementNS(ns, "text");
        label.setAttribute("x", 100 * x + (inCutout ? 4.5 : 2.5));
        label.setAttribute("y", 100 * y - (inCutout ? 3 : 1.5));
        label.textContent = "z=" + z.toFixed(3);
        svg.appendChild(label);
      }
    }
  }

  function buildBandPanels() {
    const holder = $("band-panels");
    for (const band of site.bands) {
      const figure = document.createElement("figure");
      figure.className = "panel band";
      figure.innerHTML =
        '<div class="frame"><img alt=""><svg class="markers" viewBox="0 0 100 100" ' +
        'preserveAspectRatio="none"></svg></div><figcaption></figcaption>';
      figure.querySelector("img").id = "img-" + band.file;
      figure.querySelector("img").alt = band.name;
      figure.querySelector("svg").id = "markers-" + band.file;
      figure.querySelector("figcaption").textContent = band.name;
      holder.appendChild(figure);
    }
    $("caption-rgb").textContent =
      "RGB: " + site.rgb_bands.slice().reverse().join(", ") + " (" + site.size_arcsec + '")';
  }

  function countScored() {
    let n = 0;
    for (const object of objects) {
      const entry = state.scores[object.id];
      if (entry && entry.score !== null && entry.score !== undefined) n += 1;
    }
    return n;
  }

  function prefetch(position) {
    if (position >= objects.length) return;
    const object = objects[position];
    new Image().src = picture(object, "rgb");
    for (const band of site.bands) new Image().src = picture(object, band.file);
  }

  function render() {
    const position = state.position;
    const scored = countScored();
    $("progress").textContent =
      "object " + Math.min(position + 1, objects.length) + " / " + objects.length +
      " \u00b7 scored " + scored;
    $("inspector-label").textContent = state.inspector ? "inspector: " + state.inspector : "";
    if (position >= objects.length) {
      $("object").hidden = true;
      $("done").hidden = false;
      $("done-summary").textContent = scored + " of " + objects.length + " objects scored.";
      return;
    }
    $("object").hidden = false;
    $("done").hidden = true;
    const object = objects[position];
    $("object-id").textContent = object.id;
    $("object-coords").textContent =
      object.ra.toFixed(6) + ", " + object.dec.toFixed(6) + " (" + object.radec + ")";
    $("incomplete").hidden = object.complete;
    if (!site.has_probability) {
      $("probability").textContent = "not given";
    } else if (showProbability) {
      $("probability").textContent = object.p === null ? "unknown" : object.p.toFixed(3);
    } else {
      $("probability").textContent = "hidden (P to show)";
    }
    $("img-rgb").src = picture(object, "rgb");
    drawMarkers($("markers-rgb"), object, true, true);
    for (const band of site.bands) {
      $("img-" + band.file).src = picture(object, band.file);
      drawMarkers($("markers-" + band.file), object, true, false);
    }
    const entry = state.scores[object.id] || {};
    const score = $("current-score");
    const hasScore = entry.score !== null && entry.score !== undefined;
    score.textContent = hasScore ? SCORE_TEXT[String(entry.score)] : "none";
    score.className = hasScore ? "s" + String(entry.score).replace("-", "m").replace(".", "") : "";
    $("comment").value = entry.comment || "";
    if (!$("zoom").hidden) openZoom();
    prefetch(position + 1);
  }

  function move(step) {
    state.position = Math.min(Math.max(0, state.position + step), objects.length);
    saveState();
    render();
  }

  function nextUnscored() {
    for (let k = 1; k <= objects.length; k += 1) {
      const position = (state.position + k) % objects.length;
      const entry = state.scores[objects[position].id];
      if (!entry || entry.score === null || entry.score === undefined) {
        state.position = position;
        saveState();
        render();
        return;
      }
    }
  }

  function setEntry(fields) {
    const object = objects[state.position];
    const entry = state.scores[object.id] || { score: null, comment: "", time: null };
    Object.assign(entry, fields);
    state.scores[object.id] = entry;
  }

  function score(value) {
    if (state.position >= objects.length) return;
    setEntry({ score: value, comment: $("comment").value, time: new Date().toISOString() });
    move(1);
  }

  // ECSV: space-delimited, strings in double quotes with "" for a quote.
  function quote(text) {
    return '"' + String(text).replace(/[\r\n\t]+/g, " ").replace(/"/g, '""') + '"';
  }

  function exportText() {
    const lines = [
      "# %ECSV 1.0",
      "# ---",
      "# datatype:",
      "# - {name: inspector, datatype: string}",
      "# - {name: time, datatype: string}",
      "# - {name: id, datatype: string}",
      "# - {name: score, datatype: float64}",
      "# - {name: comment, datatype: string}",
      "# meta:",
      "#   format: ggsltools-inspection",
      "#   site_id: " + JSON.stringify(site.site_id),
      "#   title: " + JSON.stringify(site.title),
      "#   exported: " + JSON.stringify(new Date().toISOString()),
      "# schema: astropy-2.0",
      "inspector time id score comment",
    ];
    for (const object of objects) {
      const entry = state.scores[object.id];
      if (!entry || entry.score === null || entry.score === undefined) continue;
      lines.push(
        [quote(state.inspector), entry.time, quote(object.id), entry.score.toFixed(1),
          quote(entry.comment || "")].join(" ")
      );
    }
    return lines.join("\n") + "\n";
  }

  let downloadUrl = null;
  function openExport() {
    const text = exportText();
    $("export-text").value = text;
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    const link = $("download");
    link.href = downloadUrl;
    const who = (state.inspector || "inspector").replace(/[^A-Za-z0-9_-]+/g, "_");
    link.download = "inspection_" + site.site_id + "_" + who + ".ecsv";
    $("export").hidden = false;
  }

  function applyZoom() {
    $("zoom-inner").style.transform =
      "translate(" + zoom.x + "px, " + zoom.y + "px) scale(" + zoom.scale + ")";
  }

  function zoomBy(factor) {
    const view = $("zoom-view");
    const cx = view.clientWidth / 2;
    const cy = view.clientHeight / 2;
    const scale = Math.min(Math.max(1, zoom.scale * factor), 16);
    zoom.x = cx - ((cx - zoom.x) * scale) / zoom.scale;
    zoom.y = cy - ((cy - zoom.y) * scale) / zoom.scale;
    zoom.scale = scale;
    applyZoom();
  }

  function openZoom() {
    const object = objects[state.position];
    $("img-zoom").src = picture(object, "zoom");
    drawMarkers($("markers-zoom"), object, false, true);
    $("zoom-caption").textContent =
      object.id + ": " + site.zoom_arcsec + '" field, dashed: the ' + site.size_arcsec +
      '" cutout; wheel or +/\u2212 to zoom, drag to pan, Esc to close';
    $("zoom").hidden = false;
  }

  function closeOverlays() {
    $("zoom").hidden = true;
    $("export").hidden = true;
  }

  function askName() {
    $("name-dialog").hidden = false;
    const input = $("inspector-name");
    input.value = remembered("ggsltools.inspection.inspector") || "";
    input.focus();
  }

  $("inspector-name").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const name = event.target.value.trim();
    if (!name) return;
    state.inspector = name;
    try {
      window.localStorage.setItem("ggsltools.inspection.inspector", name);
    } catch (err) {
      // remembered for this page only; saveState shows the warning
    }
    saveState();
    $("name-dialog").hidden = true;
    event.target.blur();
    event.preventDefault();
    render();
  });

  $("comment").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      setEntry({ comment: event.target.value });
      saveState();
      event.target.blur();
      event.preventDefault();
    } else if (event.key === "Escape") {
      const entry = state.scores[objects[state.position].id] || {};
      event.target.value = entry.comment || "";
      event.target.blur();
      event.preventDefault();
    }
    event.stopPropagation();
  });

  $("copy").addEventListener("click", () => {
    const area = $("export-text");
    area.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value);
    } else {
      document.execCommand("copy");
    }
  });

  const view = $("zoom-view");
  view.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoomBy(event.deltaY < 0 ? 1.25 : 0.8);
  }, { passive: false });
  let drag = null;
  view.addEventListener("mousedown", (event) => {
    drag = { x: event.clientX - zoom.x, y: event.clientY - zoom.y };
  });
  window.addEventListener("mouseup", () => { drag = null; });
  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    zoom.x = event.clientX - drag.x;
    zoom.y = event.clientY - drag.y;
    applyZoom();
  });

  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) {
      if (event.key === "Escape") closeOverlays();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || !state.inspector) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    let handled = true;
    if (key in SCORE_KEYS) score(SCORE_KEYS[key]);
    else if (key === " " || key === "ArrowRight" || key === "s") move(1);
    else if (key === "b" || key === "ArrowLeft") move(-1);
    else if (key === "u") nextUnscored();
    else if (key === "c" && state.position < objects.length) $("comment").focus();
    else if (key === "p") { showProbability = !showProbability; render(); }
    else if (key === "o") document.body.classList.toggle("no-markers");
    else if (key === "z" && state.position < objects.length) {
      if ($("zoom").hidden) { zoom = { scale: 1, x: 0, y: 0 }; applyZoom(); openZoom(); }
      else closeOverlays();
    }
    else if (key === "+" || key === "=") zoomBy(1.25);
    else if (key === "-") zoomBy(0.8);
    else if (key === "e") openExport();
    else if (key === "Escape") closeOverlays();
    else handled = false;
    if (handled) event.preventDefault();
  });

  buildBandPanels();
  render();
  if (!state.inspector) askName();
})();
