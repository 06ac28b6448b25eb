// Enhancements of the server-rendered page: upload, delete and copy-link without a reload.
// New figures and totals come from the server's own fragments, so nothing is drawn twice.
"use strict";
const API = "/v1/images";
const gallery = document.getElementById("gallery");
const statusLine = document.getElementById("status");
const form = document.getElementById("upload");

function report(message, isError = false) {
  statusLine.className = isError ? "error" : "";
  statusLine.textContent = message;
}

function authorization() {
  const key = form.elements.key.value;
  return key ? {Authorization: `Bearer ${key}`} : {};
}

async function checked(response) {
  if (response.ok) return response;
  const body = await response.json().catch(() => ({error: response.status, detail: response.statusText}));
  throw new Error(`${body.error}: ${body.detail}`);
}

async function fragment(url) {
  const template = document.createElement("template");
  template.innerHTML = await (await checked(await fetch(url))).text();
  return template.content.firstElementChild;
}

async function refreshTotals() {
  document.getElementById("totals").replaceWith(await fragment("/page/totals"));
}

function enhance(figure) {
  figure.querySelector(".actions").hidden = false;
  figure.querySelector(".copy").addEventListener("click", async (event) => {
    const url = new URL(event.target.dataset.url, location.href).href;
    try {
      await navigator.clipboard.writeText(url);
      report(`Copied ${url}`);
    } catch {
      window.prompt("Copy this link:", url);  // no clipboard access (e.g. not a secure context)
    }
  });
  figure.querySelector(".delete").addEventListener("click", async () => {
    const id = figure.dataset.id;
    try {
      await checked(await fetch(`${API}/${id}`, {method: "DELETE", headers: authorization()}));
      figure.remove();
      report(`Deleted ${id}`);
      await refreshTotals();
    } catch (error) {
      report(error.message, true);
    }
  });
  return figure;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = new FormData();
  body.append("file", form.elements.file.files[0]);
  report("Uploading (re-encoding and measuring prefixes)\u2026");
  try {
    const response = await checked(await fetch(API, {method: "POST", body, headers: authorization()}));
    const info = await response.json();
    const figure = enhance(await fragment(`/page/figure/${info.id}`));
    gallery.querySelector(`figure[data-id="${info.id}"]`)?.remove();
    gallery.prepend(figure);
    await refreshTotals();
    report(response.status === 201 ? `Stored ${info.id}` : `Already stored: ${info.id}`);
    form.elements.file.value = "";
  } catch (error) {
    report(error.message, true);
  }
});

gallery.querySelectorAll("figure").forEach(enhance);
