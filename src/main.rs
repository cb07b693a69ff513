//! The Lambda function: init once, then serve invocations.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use tryon::config::Config;
use tryon::entry::{self, Invocation};

fn main() -> Result<(), lambda_runtime::Error> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        // `cargo run` on a workstation: say how to run a job here instead of failing obscurely.
        eprintln!(
            "tryon-lambda is the Lambda function: it serves invocations from the Lambda runtime API, and \
             AWS_LAMBDA_RUNTIME_API is not set.\n\
             Run a job end to end here: cargo tryon run examples/hoodie\n\
             Serve this binary behind a local runtime API: cargo lambda watch (docs/development.md)"
        );
        std::process::exit(2);
    }
    tryon::entry::memory::tune_allocator();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve())
}

async fn serve() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    // Used only when the runtime sends no plausible deadline.
    let fallback_deadline = config.model_timeout + config.deadline_reserve;
    let service = Arc::new(tryon::compose::service(config).await);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let service = Arc::clone(&service);
        async move {
            let inv = Invocation::new(event.context.request_id.clone(), event.context.deadline, fallback_deadline);
            entry::handle(&service, event.payload, &inv).await.map(|summary| summary.response())
        }
    }))
    .await
}
