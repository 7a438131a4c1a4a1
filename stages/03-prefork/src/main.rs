//! `stage03-prefork`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage03_prefork::run`], so that another program can run stage 03 with an application of
//! its own.

fn main() {
    stage03_prefork::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
