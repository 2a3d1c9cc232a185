%% request_reply: gen_server:call round trips.
%%   n=1: one client calling one server.
%%   n=N: 2 clients calling random servers among N.
%% Each client runs for a fixed time; latency is per call.
-module(bench_request_reply).
-export([run/3]).

-define(DURATION_MS, 2000).

run(N, Dir, Reps) ->
    bench_util:load_account(Dir, "1"),
    [measure(Servers, Clients, Reps) || {Servers, Clients} <- [{1, 1}, {N, 2}]],
    ok.

measure(Servers, Clients, Reps) ->
    Pids = bench_util:spawn_accounts(Servers),
    Results = [once(Pids, Servers, Clients) || _ <- lists:seq(1, Reps)],
    bench_util:kill_all(Pids),
    [bench_util:row("request_reply", Servers, M, V, U)
     || {M, V, U} <- bench_util:median_rows(Results)].

once(Pids, Servers, Clients) ->
    Self = self(),
    Deadline = bench_util:now_us() + ?DURATION_MS * 1000,
    [spawn_link(fun() -> Self ! {lat, client(Pids, Servers, Deadline, [])} end)
     || _ <- lists:seq(1, Clients)],
    Lats = lists:append([receive {lat, L} -> L end || _ <- lists:seq(1, Clients)]),
    [{"per_sec", length(Lats) / (?DURATION_MS / 1000), "calls/s"},
     {"p50_us", bench_util:percentile(Lats, 50) / 1000, "us"},
     {"p99_us", bench_util:percentile(Lats, 99) / 1000, "us"}].

%% Latencies in nanoseconds.
client(Pids, Servers, Deadline, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    case T0 div 1000 >= Deadline of
        true -> Acc;
        false ->
            Pid = element(rand:uniform(Servers), Pids),
            _ = gen_server:call(Pid, {add, 1}),
            client(Pids, Servers, Deadline, [erlang:monotonic_time(nanosecond) - T0 | Acc])
    end.
