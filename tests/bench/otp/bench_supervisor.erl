%% supervisor_restart: how long a supervised restart takes, the OTP side of
%% tests/bench/supervisor_bench.cc. Each repetition runs two supervisors
%% (this module's init/1: intensity 1,000,000 in 5 s, so the kills never
%% exhaust it), one after the other, each with N children (1,000 from
%% run.sh): bench_account servers (v1/bench_account.erl) started by
%% gen_server:start_link({local, worker_I}, bench_account, State, []),
%% permanent, shutdown 5000 ms. The supervisor's reports are silenced
%% (bench_util:quiet_logger/0).
%%
%% one_for_one: 1,000 kills, one at a time, cycling through the children:
%% exit(Pid, kill), then the benchmark process polls whereis(Name) until the
%% name points to a new pid, and calls that pid once (gen_server:call(P,
%% get)). One latency per kill, from just before exit/2 to the call's reply.
%%   restart_us_p50   nearest-rank median of those latencies
%%                    (bench_util:percentile/2)
%%   restart_us_p99   their nearest-rank 99th percentile
%% one_for_all: one kill (worker_0); the supervisor stops the other N - 1
%% children (last first) and starts all N again in order. Timed from just
%% before exit/2 until every name points to a new pid (polled in start
%% order) and the last child started has answered one call.
%%   restart_all_ms   that time (one per repetition; the median is printed)
%%
%% Polling: each look is one whereis/1 from the benchmark process, which
%% calls erlang:yield() between looks, so a figure includes up to one look
%% and one yield after the name was registered. A repetition fails if a name
%% does not come back within 10 s or if the supervisor does not count N
%% active children at the end.
-module(bench_supervisor).
-behaviour(supervisor).
-export([run/3, init/1]).

-define(KILLS, 1000).
-define(INTENSITY, 1000000).
-define(PERIOD_S, 5).
-define(SHUTDOWN_MS, 5000).
-define(GIVE_UP_NS, 10000000000).

run(N, Dir, Reps) ->
    bench_util:load_account(Dir, "1"),
    bench_util:quiet_logger(),
    Names = list_to_tuple([list_to_atom("worker_" ++ integer_to_list(I))
                           || I <- lists:seq(0, N - 1)]),
    Results = [once(Names) || _ <- lists:seq(1, Reps)],
    [bench_util:row("supervisor_restart", N, M, V, U)
     || {M, V, U} <- bench_util:median_rows(Results)],
    ok.

once(Names) ->
    Us = one_for_one(Names),
    Ms = one_for_all(Names),
    [{"restart_us_p50", bench_util:percentile(Us, 50), "us"},
     {"restart_us_p99", bench_util:percentile(Us, 99), "us"},
     {"restart_all_ms", Ms, "ms"}].

%% The supervisor callback.
init({Strategy, Names}) ->
    Flags = #{strategy => Strategy, intensity => ?INTENSITY, period => ?PERIOD_S},
    Children = [#{id => Name,
                  start => {gen_server, start_link,
                            [{local, Name}, bench_account,
                             #{name => <<"blackode">>, money => 30000}, []]},
                  restart => permanent, shutdown => ?SHUTDOWN_MS, type => worker,
                  modules => [bench_account]}
                || Name <- tuple_to_list(Names)],
    {ok, {Flags, Children}}.

one_for_one(Names) ->
    N = tuple_size(Names),
    {Sup, Pids0} = start(one_for_one, Names),
    {Us, _} = lists:foldl(
                fun(K, {Acc, Pids}) ->
                        I = K rem N + 1,
                        Old = element(I, Pids),
                        T0 = erlang:monotonic_time(nanosecond),
                        exit(Old, kill),
                        New = await_new(element(I, Names), Old, T0 + ?GIVE_UP_NS),
                        answers(New),
                        T1 = erlang:monotonic_time(nanosecond),
                        {[(T1 - T0) / 1000 | Acc], setelement(I, Pids, New)}
                end, {[], Pids0}, lists:seq(0, ?KILLS - 1)),
    stop(Sup, N),
    Us.

one_for_all(Names) ->
    N = tuple_size(Names),
    {Sup, Pids} = start(one_for_all, Names),
    T0 = erlang:monotonic_time(nanosecond),
    exit(element(1, Pids), kill),
    Last = lists:foldl(fun(I, _) ->
                               await_new(element(I, Names), element(I, Pids), T0 + ?GIVE_UP_NS)
                       end, undefined, lists:seq(1, N)),
    answers(Last),
    T1 = erlang:monotonic_time(nanosecond),
    stop(Sup, N),
    (T1 - T0) / 1000000.

start(Strategy, Names) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {Strategy, Names}),
    {Sup, list_to_tuple([whereis(Name) || Name <- tuple_to_list(Names)])}.

%% Checks the supervisor still runs all N children, then stops it (and them).
stop(Sup, N) ->
    Counts = supervisor:count_children(Sup),
    {active, N} = lists:keyfind(active, 1, Counts),
    ok = gen_server:stop(Sup).

%% Polls until Name is registered to a pid other than Old.
await_new(Name, Old, GiveUp) ->
    case whereis(Name) of
        P when is_pid(P), P =/= Old ->
            P;
        P ->
            case erlang:monotonic_time(nanosecond) > GiveUp of
                true -> error({not_restarted_within_10_s, Name, P});
                false -> erlang:yield(), await_new(Name, Old, GiveUp)
            end
    end.

answers(Pid) ->
    #{} = gen_server:call(Pid, get),
    ok.
