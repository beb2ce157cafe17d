//! A well-formed zip whose tag files and manifest.json come from the fuzzer: mutations of the
//! raw zip mostly die at the CRC check, so this target reaches the manifest, Payload-Oxum and
//! manifest.json parsers directly. The input is split on NUL bytes into the texts of
//! manifest-sha256.txt, tagmanifest-sha256.txt, bag-info.txt, bagit.txt, data/manifest.json
//! and the name of one payload file.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use zip::write::SimpleFileOptions;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    let mut next = || parts.next().unwrap_or(b"").to_vec();
    let manifest = next();
    let tagmanifest = next();
    let bag_info = next();
    let bagit = next();
    let manifest_json = next();
    let payload_name = String::from_utf8_lossy(&next()).into_owned();

    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    let files: [(String, &[u8]); 7] = [
        ("bag/bagit.txt".into(), &bagit),
        ("bag/bag-info.txt".into(), &bag_info),
        ("bag/manifest-sha256.txt".into(), &manifest),
        ("bag/tagmanifest-sha256.txt".into(), &tagmanifest),
        ("bag/data/manifest.json".into(), &manifest_json),
        (format!("bag/data/{payload_name}"), b"payload"),
        ("bag/data/records/a.csv".into(), b"a,b\r\n1,2\r\n"),
    ];
    for (name, content) in files {
        if zw.start_file(name.as_str(), opts).is_err() {
            continue;
        }
        let _ = zw.write_all(content);
    }
    let Ok(cursor) = zw.finish() else { return };
    let _ = dsar::receive::verify::check_zip_bytes(&cursor.into_inner());
});
