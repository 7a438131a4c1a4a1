//! `stage06-tls`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage06_tls::run`], so that another program can run stage 06 with an application of
//! its own.

fn main() {
    stage06_tls::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
