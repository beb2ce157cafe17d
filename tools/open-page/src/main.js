// The script of open-archive.html: reads the chosen .zip.age file, decrypts it with the
// age-encryption library as a stream, and hands the unlocked zip back to the browser as a
// download. Nothing leaves the device (the page's Content-Security-Policy forbids every
// connection). Messages are written for people who have never heard of age.

import { Decrypter, armor } from "age-encryption";
import { sha256 } from "@noble/hashes/sha2.js";

const AGE_MAGIC = "age-encryption.org/v1\n";
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
// Merge decrypted chunks into a Blob every so often, so that the browser can keep a large
// archive out of the JavaScript heap.
const FLUSH_BYTES = 32 * 1024 * 1024;

const $ = (id) => document.getElementById(id);

const state = {
  file: null, // the chosen File
  armored: false, // ASCII-armored age
  needs: null, // "passphrase" or "identity"
  url: null, // object URL of the last unlocked zip
  busy: false,
};

function formatBytes(n) {
  if (n < 1024) return `${n} bytes`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function show(id, visible) {
  $(id).hidden = !visible;
}

function setStatus(text) {
  const el = $("status");
  el.textContent = text || "";
  el.hidden = !text;
}

function clearError() {
  const el = $("error");
  el.replaceChildren();
  el.hidden = true;
}

function showError(title, detail) {
  const el = $("error");
  const strong = document.createElement("strong");
  strong.textContent = title;
  el.replaceChildren(strong);
  if (detail) {
    const p = document.createElement("span");
    p.textContent = ` ${detail}`;
    el.append(p);
  }
  el.hidden = false;
  setStatus("");
}

function resetResult() {
  clearError();
  setStatus("");
  show("done", false);
  show("progress-box", false);
  if (state.url) {
    URL.revokeObjectURL(state.url);
    state.url = null;
  }
}

// ---------------------------------------------------------------- looking at the file

/** Decodes the first armored lines (enough for the header) without reading the whole file. */
function armoredHead(text) {
  const lines = text.replace(/\r\n/g, "\n").trimStart().split("\n");
  const body = [];
  for (let i = 1; i < lines.length - 1 && body.length < 200; i++) {
    if (lines[i].startsWith("-----")) break;
    body.push(lines[i]);
  }
  // Only whole 64-character lines decode on their own (4-character groups).
  const b64 = body.filter((l) => l.length === 64).join("");
  try {
    const bin = atob(b64);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return new Uint8Array();
  }
}

/** The stanza types in an age header ("scrypt", "X25519", "ssh-ed25519"…). */
function stanzaTypes(headBytes) {
  const text = new TextDecoder("latin1").decode(headBytes);
  const types = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("---")) break;
    if (line.startsWith("-> ")) types.push(line.slice(3).split(" ")[0]);
  }
  return types;
}

async function inspect(file) {
  const head = new Uint8Array(await file.slice(0, 64 * 1024).arrayBuffer());
  const text = new TextDecoder("latin1").decode(head);
  let headerBytes;
  if (text.startsWith(AGE_MAGIC)) {
    state.armored = false;
    headerBytes = head;
  } else if (text.trimStart().startsWith(ARMOR_BEGIN)) {
    state.armored = true;
    headerBytes = armoredHead(text);
  } else if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    return {
      error: "This file is already unlocked.",
      detail: "It is an ordinary zip file, not an encrypted one: open it directly (unzip it) and open index.html inside.",
    };
  } else {
    return {
      error: "This is not an encrypted data file.",
      detail:
        "The file does not start the way an age-encrypted file does. Please choose the file whose name ends in .zip.age. " +
        "If you did choose it, the download may be damaged or incomplete: download it again.",
    };
  }
  const types = stanzaTypes(headerBytes);
  if (types.includes("scrypt")) return { needs: "passphrase" };
  if (types.some((t) => t === "X25519" || t === "mlkem768x25519")) return { needs: "identity" };
  if (types.some((t) => t.startsWith("ssh-"))) {
    return {
      error: "This file is locked to an SSH key, which this page cannot use.",
      detail:
        "Please open it with the dsar program (dsar open FILE --out my-data --identity ~/.ssh/id_ed25519) " +
        "or with the age program (age -d -i ~/.ssh/id_ed25519 -o data.zip FILE), as described in the message we sent you.",
    };
  }
  if (types.length === 0) {
    return {
      error: "This file looks damaged.",
      detail: "Its header could not be read. Please download it again.",
    };
  }
  // Unknown stanza types (plugins): let the library try with a key.
  return { needs: "identity" };
}

async function onFileChosen() {
  resetResult();
  const file = $("file").files[0];
  state.file = null;
  state.needs = null;
  show("step-pass", false);
  show("step-key", false);
  show("step-go", false);
  if (!file) {
    show("file-info", false);
    return;
  }
  const info = $("file-info");
  const size = document.createElement("span");
  size.className = "size";
  size.textContent = ` (${formatBytes(file.size)})`;
  info.replaceChildren(document.createTextNode(file.name), size);
  info.hidden = false;
  let result;
  try {
    result = await inspect(file);
  } catch {
    result = { error: "This file could not be read.", detail: "Please choose it again, or download it again." };
  }
  if (result.error) {
    showError(result.error, result.detail);
    return;
  }
  state.file = file;
  state.needs = result.needs;
  show("step-pass", result.needs === "passphrase");
  show("step-key", result.needs === "identity");
  show("step-go", true);
  (result.needs === "passphrase" ? $("passphrase") : $("identity")).focus();
}

// ---------------------------------------------------------------- unlocking

/** The age secret keys in a pasted text or key file (comments and blank lines ignored). */
function parseIdentities(text) {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .flatMap((l) => l.split(/\s+/));
}

/** A friendly message for an error thrown while unlocking. */
function explain(err, needs) {
  const msg = String((err && err.message) || err);
  if (msg.includes("no identity matched")) {
    return needs === "passphrase"
      ? ["That passphrase does not open this file.",
        "Check it for typing mistakes (capital and small letters count, and so do the dashes) and try again. " +
        "If it still does not work, ask us for help."]
      : ["This key does not open this file.",
        "The file was locked for a different key. Check that you chose the right key, or ask us for help."];
  }
  if (msg.includes("scrypt work factor is too high")) {
    return ["This file is protected with settings too heavy for a web browser.",
      "Please open it with the dsar program or the age program, as described in the message we sent you."];
  }
  if (msg.includes("invalid header HMAC")) {
    return ["This file has been changed or damaged.",
      "Its lock does not match its contents. Do not trust it: download it again or ask us for a new copy."];
  }
  if (msg.includes("invalid identity") || msg.includes("unrecognized identity")) {
    return ["That does not look like an age key.",
      "An age secret key is one line starting with AGE-SECRET-KEY-1 (for example in your key.txt file). " +
      "SSH keys cannot be used on this page."];
  }
  if (/armor|invalid line length|invalid base64|invalid footer/.test(msg)) {
    return ["This text-encoded file is damaged or incomplete.", "Please download it again."];
  }
  if (/tag|stream ended|final chunk|ciphertext|invalid version|invalid header|stanza/i.test(msg)) {
    return ["This file is damaged or incomplete.",
      "It may not have finished downloading. Please download it again and compare its fingerprint (SHA-256) " +
      "with the one in our message."];
  }
  if (/allocation|memory|RangeError/i.test(msg) || (err && err.name === "RangeError")) {
    return ["Your browser ran out of memory.",
      "The file is too large to unlock in this browser. Please use the dsar program or the age program instead."];
  }
  return ["The file could not be unlocked.", `Please try again, or use one of the other ways in our message. (${msg})`];
}

function setProgress(done, total) {
  const pct = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
  $("progress").value = pct;
  $("percent").textContent = `${pct}%`;
}

const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 30));

async function unlock(event) {
  event.preventDefault();
  if (state.busy || !state.file) return;
  resetResult();
  const file = state.file;
  const needs = state.needs;
  const decrypter = new Decrypter();
  if (needs === "passphrase") {
    const pass = $("passphrase").value;
    if (!pass) {
      showError("Please type the passphrase first.", "");
      $("passphrase").focus();
      return;
    }
    decrypter.addPassphrase(pass);
  } else {
    const keys = parseIdentities($("identity").value);
    if (keys.length === 0) {
      showError("Please paste your key or choose your key file first.", "");
      $("identity").focus();
      return;
    }
    if (keys.some((k) => k.startsWith("-----BEGIN") || k.startsWith("ssh-"))) {
      showError(...explain(new Error("invalid identity"), needs));
      return;
    }
    try {
      for (const k of keys) decrypter.addIdentity(k);
    } catch (e) {
      showError(...explain(e, needs));
      return;
    }
  }

  state.busy = true;
  $("unlock").disabled = true;
  show("progress-box", true);
  setProgress(0, 1);
  const hash = sha256.create();
  try {
    let input;
    let total;
    if (state.armored) {
      setStatus("Reading the file…");
      await nextFrame();
      const raw = new Uint8Array(await file.arrayBuffer());
      hash.update(raw);
      const binary = armor.decode(new TextDecoder().decode(raw));
      input = new Blob([binary]).stream();
      total = binary.length;
    } else {
      input = file.stream();
      total = file.size;
    }
    let read = 0;
    let lastPaint = 0;
    const counted = input.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          read += chunk.length;
          if (!state.armored) hash.update(chunk);
          const now = performance.now();
          if (now - lastPaint > 100) {
            lastPaint = now;
            setProgress(read, total);
          }
          controller.enqueue(chunk);
        },
      }),
    );
    setStatus(needs === "passphrase"
      ? "Checking the passphrase… this can take a few seconds."
      : "Checking the key…");
    await nextFrame();
    const plain = await decrypter.decrypt(counted);
    setStatus("Unlocking… please keep this page open.");
    const reader = plain.getReader();
    let blob = new Blob([]);
    let parts = [];
    let pending = 0;
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      pending += value.length;
      size += value.length;
      if (pending >= FLUSH_BYTES) {
        blob = new Blob([blob, ...parts]);
        parts = [];
        pending = 0;
      }
    }
    blob = new Blob([blob, ...parts], { type: "application/zip" });
    parts = [];
    setProgress(total, total);
    finish(file, blob, size, hash.digest());
    // Do not leave the secret on screen (a shared computer).
    $("passphrase").value = "";
    $("identity").value = "";
  } catch (e) {
    show("progress-box", false);
    showError(...explain(e, needs));
  } finally {
    state.busy = false;
    $("unlock").disabled = false;
  }
}

function outputName(name) {
  let out = name.replace(/\.age$/i, "");
  if (out === name || out === "") out = `${name}.zip`;
  if (!/\.zip$/i.test(out)) out += ".zip";
  return out;
}

function finish(file, blob, size, digest) {
  const name = outputName(file.name);
  state.url = URL.createObjectURL(blob);
  const save = $("save");
  save.href = state.url;
  save.download = name;
  $("out-name").textContent = name;
  $("out-size").textContent = formatBytes(size);
  $("sha").textContent = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  setStatus("");
  show("done", true);
  save.click();
  listContents(blob).catch(() => show("contents", false));
  $("done-title").focus?.();
}

// ---------------------------------------------------------------- what is inside

const u16 = (v, o) => v.getUint16(o, true);
const u32 = (v, o) => v.getUint32(o, true);
const u64 = (v, o) => v.getUint32(o, true) + v.getUint32(o + 4, true) * 2 ** 32;

/** Names and sizes of the files in a zip, from its central directory (zip64 aware). */
async function zipEntries(blob) {
  const tailLen = Math.min(blob.size, 65557);
  const tail = new DataView(await blob.slice(blob.size - tailLen).arrayBuffer());
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (u32(tail, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && eocd >= 20 &&
      u32(tail, eocd - 20) === 0x07064b50) {
    const z64At = u64(tail, eocd - 20 + 8);
    const z64 = new DataView(await blob.slice(z64At, z64At + 56).arrayBuffer());
    if (u32(z64, 0) !== 0x06064b50) return null;
    count = u64(z64, 32);
    cdSize = u64(z64, 40);
    cdOffset = u64(z64, 48);
  }
  if (cdOffset + cdSize > blob.size || cdSize > 64 * 1024 * 1024) return null;
  const cd = new DataView(await blob.slice(cdOffset, cdOffset + cdSize).arrayBuffer());
  const decoder = new TextDecoder();
  const entries = [];
  let p = 0;
  for (let n = 0; n < count && p + 46 <= cd.byteLength; n++) {
    if (u32(cd, p) !== 0x02014b50) break;
    let size = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const name = decoder.decode(new Uint8Array(cd.buffer, p + 46, nameLen));
    if (size === 0xffffffff) {
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      while (e + 4 <= end) {
        const id = u16(cd, e);
        const len = u16(cd, e + 2);
        if (id === 0x0001 && len >= 8) size = u64(cd, e + 4);
        e += 4 + len;
      }
    }
    if (!name.endsWith("/")) entries.push({ name, size });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function listContents(blob) {
  const entries = await zipEntries(blob);
  if (!entries || entries.length === 0) {
    show("contents", false);
    return;
  }
  const list = $("contents-list");
  list.replaceChildren();
  const shown = entries.slice(0, 500);
  for (const e of shown) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = e.name;
    if (/(^|\/)data\/index\.html$/.test(e.name)) {
      name.classList.add("start");
      name.textContent = `${e.name}  (start here)`;
    }
    const bytes = document.createElement("span");
    bytes.className = "bytes";
    bytes.textContent = formatBytes(e.size);
    li.append(name, bytes);
    list.append(li);
  }
  if (entries.length > shown.length) {
    const li = document.createElement("li");
    li.textContent = `… and ${entries.length - shown.length} more files`;
    list.append(li);
  }
  $("contents-summary").textContent = `What is inside (${entries.length} file${entries.length === 1 ? "" : "s"})`;
  show("contents", true);
}

// ---------------------------------------------------------------- wiring

$("file").addEventListener("change", onFileChosen);
$("form").addEventListener("submit", unlock);
$("show").addEventListener("click", () => {
  const input = $("passphrase");
  const visible = input.type === "password";
  input.type = visible ? "text" : "password";
  $("show").textContent = visible ? "Hide" : "Show";
  $("show").setAttribute("aria-pressed", String(visible));
});
$("keyfile").addEventListener("change", async () => {
  const f = $("keyfile").files[0];
  if (!f) return;
  clearError();
  if (f.size > 64 * 1024) {
    showError("That file is too large to be a key file.", "Choose the file that holds your AGE-SECRET-KEY-1… line.");
    return;
  }
  const text = await f.text();
  const keys = parseIdentities(text).filter((k) => k.startsWith("AGE-SECRET-KEY-"));
  if (keys.length === 0) {
    showError(...explain(new Error("invalid identity"), "identity"));
    return;
  }
  $("identity").value = keys.join("\n");
  $("keyfile-info").textContent = ` Key read from ${f.name}.`;
});
// The browser may keep a file chosen before a reload.
if ($("file").files.length) onFileChosen();
