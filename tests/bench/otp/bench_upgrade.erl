%% upgrade_rolling and upgrade_bulk: N account servers move from v1 to v2
%% while clients keep casting {add, 1} to random servers.
%%
%% rolling: load v2, then per process sys:suspend -> sys:change_code ->
%%          sys:resume, one after another (what a careful operator scripts).
%%          Processes not migrated yet run v2 callbacks on v1 state and crash
%%          on their next message: OTP calls the newest code of a module.
%% bulk:    release_handler's order: suspend all, load v2, change_code all,
%%          resume all.
%%
%% pause = suspend start to resume end, per process. lost = increments sent
%% minus increments found in the states of surviving processes. crashed =
%% processes that died.
-module(bench_upgrade).
-export([run/4]).

-define(CLIENTS, 2).
-define(RATE_PER_CLIENT, 50000).  % casts/s: 100k casts/s in all

run(Mode, N, Dir, Reps) ->
    bench_util:quiet_logger(),
    Bench = case Mode of rolling -> "upgrade_rolling"; bulk -> "upgrade_bulk" end,
    Results = [once(Mode, N, Dir) || _ <- lists:seq(1, Reps)],
    [bench_util:row(Bench, N, M, V, U) || {M, V, U} <- bench_util:median_rows(Results)],
    ok.

once(Mode, N, Dir) ->
    bench_util:load_account(Dir, "1"),
    Pids = bench_util:spawn_accounts(N),
    Totals = counters:new(?CLIENTS, []),
    Stop = atomics:new(1, []),
    Clients = [spawn_monitor(fun() -> client(Pids, N, Totals, I, Stop) end)
               || I <- lists:seq(1, ?CLIENTS)],
    timer:sleep(200),  % clients reach steady state
    Before = total(Totals),
    T0 = bench_util:now_us(),
    {Pauses, _} = upgrade(Mode, Pids, Dir),
    T1 = bench_util:now_us(),
    During = total(Totals) - Before,
    atomics:put(Stop, 1, 1),
    [receive {'DOWN', Ref, process, _, _} -> ok end || {_, Ref} <- Clients],
    {Gained, Crashed} = collect(Pids),
    Lost = total(Totals) - Gained,
    _ = [exit(P, kill) || P <- tuple_to_list(Pids), is_process_alive(P)],
    [{"total_ms", (T1 - T0) / 1000, "ms"},
     {"pause_p50_us", bench_util:percentile(Pauses, 50), "us"},
     {"pause_p99_us", bench_util:percentile(Pauses, 99), "us"},
     {"pause_max_us", lists:max([0 | Pauses]), "us"},
     {"requests_during", During, "requests"},
     {"lost", Lost, "requests"},
     {"crashed", Crashed, "processes"}].

%% Sends at a steady ?RATE_PER_CLIENT casts/s, catching up after pauses.
client(Pids, N, Totals, Me, Stop) ->
    client(Pids, N, Totals, Me, Stop, bench_util:now_us(), 0).

client(Pids, N, Totals, Me, Stop, Start, Sent) ->
    case atomics:get(Stop, 1) of
        1 -> ok;
        0 ->
            Due = (bench_util:now_us() - Start) * ?RATE_PER_CLIENT div 1000000 - Sent,
            Batch = min(Due, 1000),
            case Batch > 0 of
                true ->
                    [gen_server:cast(element(rand:uniform(N), Pids), {add, 1})
                     || _ <- lists:seq(1, Batch)],
                    counters:add(Totals, Me, Batch);
                false ->
                    receive after 1 -> ok end
            end,
            client(Pids, N, Totals, Me, Stop, Start, Sent + max(Batch, 0))
    end.

total(Totals) -> lists:sum([counters:get(Totals, I) || I <- lists:seq(1, ?CLIENTS)]).

upgrade(rolling, Pids, Dir) ->
    bench_util:load_account(Dir, "2"),
    Pauses = [P || Pid <- tuple_to_list(Pids), P <- [roll_one(Pid)], P =/= crashed],
    {Pauses, ok};
upgrade(bulk, Pids, Dir) ->
    L = tuple_to_list(Pids),
    Starts = [{Pid, bench_util:now_us(), catch sys:suspend(Pid)} || Pid <- L],
    bench_util:load_account(Dir, "2"),
    [catch sys:change_code(Pid, bench_account, "1", []) || Pid <- L],
    Pauses = [begin
                  catch sys:resume(Pid),
                  bench_util:now_us() - T
              end || {Pid, T, ok} <- Starts],
    {Pauses, ok}.

roll_one(Pid) ->
    T = bench_util:now_us(),
    try
        ok = sys:suspend(Pid),
        ok = sys:change_code(Pid, bench_account, "1", []),
        ok = sys:resume(Pid),
        bench_util:now_us() - T
    catch
        exit:_ -> crashed  % died before its turn
    end.

%% {increments found in surviving states, number of dead processes}
collect(Pids) ->
    lists:foldl(
      fun(Pid, {Sum, Dead}) ->
              case catch sys:get_state(Pid) of
                  #{money := M} -> {Sum + M - 30000, Dead};
                  #{salary := M} -> {Sum + M - 30000, Dead};
                  _ -> {Sum, Dead + 1}
              end
      end, {0, 0}, tuple_to_list(Pids)).
