//! `stage02-threadpool`: the stage's binary, serving the demo site. Everything it does is in
//! [`stage02_threadpool::run`], so that another program can run stage 02 with an application of
//! its own.

fn main() {
    stage02_threadpool::run::main_with(std::env::args_os().collect(), cli::demo_site);
}
