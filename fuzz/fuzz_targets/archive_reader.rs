//! Raw bytes as a decrypted archive: the zip parser, entry-name checks, limits and the bag
//! checks must return an error or a report, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dsar::receive::verify::check_zip_bytes(data);
});
