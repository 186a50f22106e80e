// originlens dashboard: upload with progress (drag and drop or the file input), waiting for a
// result, the image overlays, and a recording's player (seek by chunk or on the waveform).
// Plain JavaScript, no build step; every page works without it except the live progress.
"use strict";

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = document.getElementById("file");
  const zone = document.getElementById("dropzone");
  const chosen = document.getElementById("chosen");
  const wrap = document.getElementById("progress-wrap");
  const bar = document.getElementById("progress");
  const text = document.getElementById("progress-text");
  const error = document.getElementById("upload-error");
  const button = document.getElementById("upload-button");
  let dropped = null;

  const describe = (file) => {
    const mb = (file.size / 1048576).toFixed(file.size < 1048576 ? 2 : 1);
    chosen.textContent = `Chosen: ${file.name} (${mb} MB)`;
  };
  input.addEventListener("change", () => {
    dropped = null;
    if (input.files.length) describe(input.files[0]);
  });
  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    dropped = files[0];
    try { input.files = files; } catch (e) { /* older browsers: the file is sent from `dropped` */ }
    describe(dropped);
  });

  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    button.disabled = false;
    text.textContent = "";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.hidden = true;
    const file = dropped || (input.files.length ? input.files[0] : null);
    if (!file) {
      fail("Choose a file, or drop one on the box.");
      input.focus();
      return;
    }
    const data = new FormData(form);
    data.set("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      text.textContent = `Uploading: ${pct}%`;
    });
    xhr.upload.addEventListener("load", () => { text.textContent = "Uploaded; recording the submission…"; });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200 && body.url) {
        bar.value = 100;
        text.textContent = "Uploaded. Opening the result…";
        window.location.assign(body.url);
      } else if (xhr.status === 401) {
        window.location.assign("/dashboard/sign-in?next=/dashboard/upload");
      } else {
        fail(body.message || `The upload failed (HTTP ${xhr.status}).`);
      }
    });
    xhr.addEventListener("error", () => fail("The upload failed: the connection was lost."));
    wrap.hidden = false;
    bar.value = 0;
    text.textContent = "Uploading: 0%";
    button.disabled = true;
    xhr.send(data);
  });
}

function setupWaiting() {
  const article = document.querySelector("article.result[data-status='new']");
  if (!article) return;
  const id = article.dataset.identifier;
  const status = document.getElementById("wait-status");
  let delay = 700;
  const poll = async () => {
    try {
      const response = await fetch(`/dashboard/results/${id}/status`, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        if (body.status !== "new") {
          status.textContent = "Done. Loading the result…";
          window.location.reload();
          return;
        }
        if (body.frames_total) status.textContent = `${body.frames_done} of ${body.frames_total} frames analysed.`;
      }
    } catch (e) { /* a network hiccup: try again */ }
    delay = Math.min(delay * 1.3, 4000);
    setTimeout(poll, delay);
  };
  setTimeout(poll, delay);
}

function setupOverlays() {
  const pairs = [["show-heatmap", "heatmap-opacity", "heatmap"], ["show-tampering", "tampering-opacity", "tampering-map"]];
  for (const [toggleId, rangeId, targetId] of pairs) {
    const toggle = document.getElementById(toggleId);
    const range = document.getElementById(rangeId);
    const target = document.getElementById(targetId);
    if (!toggle || !target) continue;
    const apply = () => {
      target.hidden = !toggle.checked;
      if (range) {
        target.style.opacity = String(Number(range.value) / 100);
        range.setAttribute("aria-valuetext", `${range.value}% opaque`);
      }
    };
    toggle.addEventListener("change", apply);
    if (range) range.addEventListener("input", apply);
    apply();
  }
  const faces = document.getElementById("show-faces");
  const stage = document.getElementById("stage");
  if (faces && stage) {
    const apply = () => stage.classList.toggle("hide-faces", !faces.checked);
    faces.addEventListener("change", apply);
    apply();
  }
}

function setupPlayer() {
  const player = document.getElementById("player");
  if (!player) return;
  const wave = document.getElementById("waveform");
  const playhead = document.getElementById("playhead");
  const rows = Array.from(document.querySelectorAll("#chunks tr.chunk"));
  const duration = wave ? Number(wave.dataset.duration) : 0;
  const width = wave ? wave.viewBox.baseVal.width : 0;
  const playFrom = (seconds) => {
    player.currentTime = seconds;
    player.play().catch(() => { /* the browser refused to start playing: the position is still set */ });
  };
  document.querySelectorAll("button.play-from").forEach((button) => {
    button.disabled = false;
    button.addEventListener("click", () => playFrom(Number(button.dataset.start)));
  });
  if (wave && duration > 0) {
    wave.addEventListener("click", (event) => {
      const box = wave.getBoundingClientRect();
      playFrom(Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)) * duration);
    });
  }
  player.addEventListener("timeupdate", () => {
    const t = player.currentTime;
    if (playhead && duration > 0) {
      const x = String(Math.min(1, t / duration) * width);
      playhead.setAttribute("x1", x);
      playhead.setAttribute("x2", x);
      playhead.removeAttribute("hidden");
    }
    rows.forEach((row) => {
      const button = row.querySelector("button.play-from");
      const next = rows[rows.indexOf(row) + 1];
      const start = button ? Number(button.dataset.start) : 0;
      const end = next ? Number(next.querySelector("button.play-from").dataset.start) : Infinity;
      row.classList.toggle("playing", !player.paused && t >= start && t < end);
    });
  });
  player.addEventListener("error", () => {
    const note = document.getElementById("player-error");
    if (note) note.hidden = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupUpload();
  setupWaiting();
  setupOverlays();
  setupPlayer();
});
