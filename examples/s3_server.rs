//! A small S3-compatible server for the integration tests and the benchmark.
//!
//! It is `s3s-fs` (buckets are folders under ROOT) behind `s3s`'s SigV4 authentication with
//! one access/secret key pair, so it checks request signatures and rejects expired or
//! tampered presigned URLs with 403, as AWS does. Path-style addressing only, HTTP/1.1 on
//! 127.0.0.1.
//!
//! ```text
//! s3_server ROOT PORT ACCESS_KEY SECRET_KEY
//! ```
//!
//! PORT 0 picks a free port. The first line on stdout is the bound port, printed once the
//! server accepts connections; the server runs until killed.

use std::io::Write;
use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

fn usage() -> ! {
    eprintln!("usage: s3_server ROOT PORT ACCESS_KEY SECRET_KEY");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, port, access_key, secret_key] = args.as_slice() else {
        usage()
    };
    let root = PathBuf::from(root);
    let Ok(port) = port.parse::<u16>() else {
        usage()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    if let Err(e) = runtime.block_on(serve(root, port, access_key.clone(), secret_key.clone())) {
        eprintln!("s3_server: {e}");
        std::process::exit(1);
    }
}

async fn serve(
    root: PathBuf,
    port: u16,
    access_key: String,
    secret_key: String,
) -> Result<(), Box<dyn std::error::Error>> {
    let fs = s3s_fs::FileSystem::new(&root).map_err(|e| format!("{}: {e:?}", root.display()))?;
    let service = {
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        builder.build()
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let bound = listener.local_addr()?.port();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{bound}")?;
        out.flush()?;
    }
    let http = ConnBuilder::new(TokioExecutor::new());
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("s3_server: accept: {e}");
                continue;
            }
        };
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
