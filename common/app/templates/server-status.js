// The chart and the live numbers of /server-status (served by app::status as
// /server-status.js). Once a second it fetches /server-status?json, writes each counter into
// the cell whose data-field names it, and turns the change in requests_served over the change
// in uptime into a rate: requests per second, the last minute of which is drawn as the points
// of the page's inline SVG polyline. Its own fetch is a request too, so an idle server shows
// about 1 request per second.
//
// The page's Content-Security-Policy allows this file (script-src 'self') and fetch to this
// origin (connect-src 'self'), and nothing inline, so everything is done through the DOM:
// textContent and setAttribute, never innerHTML or style attributes.
"use strict";

(function () {
  const WIDTH = 600;
  const HEIGHT = 150;
  // Points kept: one a second, a minute's worth.
  const KEEP = 60;
  const EVERY_MS = 1000;

  const line = document.getElementById("rate-line");
  const maxLabel = document.getElementById("rate-max");
  const nowLabel = document.getElementById("rate-now");
  const rates = [];
  let previous = null;

  // A duration for people, as the server formats it (app::status::seconds).
  function duration(seconds) {
    if (seconds === null || seconds === undefined) {
      return "-";
    }
    if (seconds < 0.001) {
      return (seconds * 1e6).toFixed(0) + " µs";
    }
    if (seconds < 1) {
      return (seconds * 1e3).toFixed(2) + " ms";
    }
    return seconds.toFixed(1) + " s";
  }

  function format(group, field, value) {
    if (group === "latency_seconds" && field !== "count") {
      return duration(value);
    }
    if (field === "uptime_seconds") {
      return duration(value);
    }
    return String(value);
  }

  function refreshCells(status) {
    for (const cell of document.querySelectorAll("[data-field]")) {
      const group = cell.dataset.group;
      const source = group ? status[group] : status;
      if (source && Object.prototype.hasOwnProperty.call(source, cell.dataset.field)) {
        cell.textContent = format(group, cell.dataset.field, source[cell.dataset.field]);
      }
    }
  }

  function draw() {
    const top = Math.max(1, ...rates);
    // Leave 20 units at the top for the label; x spreads the kept points over the width.
    const step = WIDTH / (KEEP - 1);
    const points = rates.map(function (rate, index) {
      const x = (index + KEEP - rates.length) * step;
      const y = HEIGHT - 2 - (rate / top) * (HEIGHT - 22);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    line.setAttribute("points", points.join(" "));
    maxLabel.textContent = "peak " + top.toFixed(1) + " requests/s";
    nowLabel.textContent = "now " + rates[rates.length - 1].toFixed(1) + " requests/s";
  }

  // ANCHOR: record
  function record(status) {
    if (previous !== null) {
      const seconds = status.uptime_seconds - previous.uptime_seconds;
      if (seconds > 0) {
        rates.push(Math.max(0, status.requests_served - previous.requests_served) / seconds);
        if (rates.length > KEEP) {
          rates.shift();
        }
      }
    } else {
      // The first answer has nothing to compare with: start the line at zero.
      rates.push(0);
    }
    previous = status;
    draw();
  }
  // ANCHOR_END: record

  async function tick() {
    try {
      const response = await fetch("/server-status?json", {
        cache: "no-store",
        headers: { accept: "application/json" },
      });
      if (response.ok) {
        const status = await response.json();
        refreshCells(status);
        record(status);
      } else {
        nowLabel.textContent = "the server answered " + response.status;
      }
    } catch (error) {
      nowLabel.textContent = "no answer: " + error;
    }
    setTimeout(tick, EVERY_MS);
  }

  tick();
})();
