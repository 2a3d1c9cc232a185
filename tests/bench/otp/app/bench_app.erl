%% The application of the release-upgrade benchmark: a simple_one_for_one
%% supervisor of bench_account workers, so that release_handler finds the
%% workers through their child specs exactly as in a real OTP system.
-module(bench_app).
-behaviour(application).
-export([start/2, stop/1]).

start(_Type, _Args) -> bench_sup:start_link().
stop(_State) -> ok.
