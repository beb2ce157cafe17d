// Drives templates/open-archive.html in headless Chromium (Debian /usr/bin/chromium, or
// DSAR_TEST_CHROMIUM) with playwright-core, the way a person would: choose the .zip.age,
// type the passphrase or paste a key, press "Unlock and save", and take the download.
// Run by tests/pages.rs, which makes the archives with the real `dsar export` and compares
// the downloads with what the Go `age` CLI decrypts. Exits non-zero on the first failure.
//
// Input: a JSON file (argv[2]) with
//   { "page": "/abs/open-archive.html", "out": "/abs/dir", "cases": [
//       { "name": "pass", "archive": "/abs/x.zip.age", "passphrase": "…" },
//       { "name": "key", "archive": "/abs/y.zip.age", "identity": "AGE-SECRET-KEY-1…" },
//       { "name": "keyfile", "archive": "…", "identity_file": "/abs/key.txt" },
//       { "name": "wrong", "archive": "…", "passphrase": "nope", "expect_error": "That passphrase does not open this file" } ] }
// ("not_a_zip": true skips waiting for the list of files, for a plain encrypted file.)
// Output: out/<name>.zip for each download, out/<name>.png screenshots, and one JSON line
// per case on stdout: {"name", "download", "bytes", "error", "requests"}.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const executablePath = process.env.DSAR_TEST_CHROMIUM || "/usr/bin/chromium";

function fail(message) {
  console.error(`open-archive.mjs: FAIL: ${message}`);
  process.exit(1);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

try {
  for (const c of spec.cases) {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: c.viewport || { width: 412, height: 915 },
    });
    const page = await context.newPage();
    // Every request the page makes besides loading itself is a failure: the page must work
    // offline and never send the file or the passphrase anywhere.
    const requests = [];
    page.on("request", (r) => {
      const url = r.url();
      if (url !== pathToFileURL(spec.page).href && !url.startsWith("blob:") && !url.startsWith("data:")) {
        requests.push(url);
      }
    });
    const consoleErrors = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));

    await page.goto(pathToFileURL(spec.page).href);
    await page.setInputFiles("#file", c.archive);

    if (c.expect_error_on_choose) {
      await page.waitForSelector("#error:not([hidden])", { timeout: 10000 });
      const text = await page.textContent("#error");
      if (!text.includes(c.expect_error_on_choose)) fail(`${c.name}: error was "${text}"`);
      await page.screenshot({ path: join(spec.out, `${c.name}.png`), fullPage: true });
      console.log(JSON.stringify({ name: c.name, download: null, error: text, requests }));
      await context.close();
      continue;
    }

    if (c.passphrase !== undefined) {
      await page.waitForSelector("#passphrase", { state: "visible", timeout: 10000 });
      await page.fill("#passphrase", c.passphrase);
    } else if (c.identity_file) {
      await page.waitForSelector("#identity", { state: "visible", timeout: 10000 });
      await page.setInputFiles("#keyfile", c.identity_file);
      await page.waitForFunction(() => document.querySelector("#identity").value.startsWith("AGE-SECRET-KEY-1"));
    } else {
      await page.waitForSelector("#identity", { state: "visible", timeout: 10000 });
      await page.fill("#identity", c.identity);
    }
    if (c.screenshot_before) {
      await page.screenshot({ path: join(spec.out, `${c.name}-before.png`), fullPage: true });
    }

    let result;
    if (c.expect_error) {
      await page.click("#unlock");
      await page.waitForSelector("#error:not([hidden])", { timeout: 60000 });
      const text = await page.textContent("#error");
      if (!text.includes(c.expect_error)) fail(`${c.name}: expected "${c.expect_error}", got "${text}"`);
      if (await page.isVisible("#done")) fail(`${c.name}: shows success after an error`);
      result = { name: c.name, download: null, error: text, requests };
    } else {
      const t0 = Date.now();
      const [download] = await Promise.all([
        page.waitForEvent("download", { timeout: 120000 }),
        page.click("#unlock"),
      ]);
      const path = join(spec.out, `${c.name}.zip`);
      const seconds = (Date.now() - t0) / 1000;
      await download.saveAs(path);
      await page.waitForSelector("#done:not([hidden])", { timeout: 10000 });
      if (!c.not_a_zip) await page.waitForSelector("#contents:not([hidden])", { timeout: 10000 });
      const listed = await page.$$eval("#contents-list li .name", (els) => els.map((e) => e.textContent));
      const sha = (await page.textContent("#sha")).trim();
      result = {
        name: c.name,
        download: path,
        suggested: download.suggestedFilename(),
        listed,
        sha256_shown: sha,
        seconds,
        error: null,
        requests,
      };
    }
    await page.screenshot({ path: join(spec.out, `${c.name}.png`), fullPage: true });
    if (consoleErrors.length) fail(`${c.name}: console errors: ${consoleErrors.join(" | ")}`);
    if (requests.length) fail(`${c.name}: the page made network requests: ${requests.join(", ")}`);
    console.log(JSON.stringify(result));
    await context.close();
  }
} finally {
  await browser.close();
}
