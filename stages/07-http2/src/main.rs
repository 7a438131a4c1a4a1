//! `stage07-http2`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage07_http2::run`], so that another program can run stage 07 with an application of
//! its own.

fn main() {
    stage07_http2::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
