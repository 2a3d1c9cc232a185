%% tcp_echo: round trips through a line-echo server, the OTP side of
%% tests/bench/echo_bench.cc. The server is written as relup's example
%% (examples/echo_server) is, the plain OTP way:
%%   acceptor    listens on 127.0.0.1, port 0; accepts, spawns one process
%%               per connection, hands it the socket with
%%               gen_tcp:controlling_process and tells it, accepts again
%%   connection  binary, raw packets, {active, once}; appends each chunk to
%%               what is pending, sends back everything up to the last
%%               newline and keeps the rest (as echo_conn does; no
%%               {packet, line}), asks for the next chunk
%% The client is the same program as relup's: relup_echo_load (its path in
%% RELUP_ECHO_LOAD; run_otp.sh sets it), with N connections (50 from
%% run.sh), its own warm-up and duration, started here as a port.
%%   per_sec          completed round trips per second, all connections
%%   p50_us, p99_us   one round trip as the client saw it
%%   cpu_us_per_round_trip  CPU time of the emulator (user + system, every
%%                    thread: bench_util:cpu_ns/0, scheduler spinning
%%                    included) while the load generator ran / every round
%%                    trip it made, warm-up included
-module(bench_tcp_echo).
-export([run/3]).

run(N, _Dir, Reps) ->
    bench_util:quiet_logger(),
    Load = load_generator(),
    _ = bench_util:cpu_ns(),  % its getconf runs now, not while measured
    Results = [once(Load, N) || _ <- lists:seq(1, Reps)],
    [bench_util:row("tcp_echo", N, M, V, U) || {M, V, U} <- bench_util:median_rows(Results)],
    ok.

once(Load, N) ->
    Self = self(),
    {Acceptor, Ref} = spawn_monitor(fun() -> acceptor(Self) end),
    Port = receive
               {listening, Acceptor, P} -> P;
               {'DOWN', Ref, process, Acceptor, Why} -> error({acceptor_failed, Why})
           end,
    Cpu0 = bench_util:cpu_ns(),
    Out = run_load(Load, ["--port", integer_to_list(Port), "--connections", integer_to_list(N)]),
    Cpu1 = bench_util:cpu_ns(),
    exit(Acceptor, kill),
    receive {'DOWN', Ref, process, Acceptor, _} -> ok end,
    [{"per_sec", json_number(Out, "per_sec"), "round trips/s"},
     {"p50_us", json_number(Out, "p50_us"), "us"},
     {"p99_us", json_number(Out, "p99_us"), "us"},
     {"cpu_us_per_round_trip", (Cpu1 - Cpu0) / 1000 / json_number(Out, "total_round_trips"),
      "us"}].

%% --- the server ---------------------------------------------------------

acceptor(Parent) ->
    {ok, Listen} = gen_tcp:listen(0, [binary, {packet, raw}, {active, false}, {ip, {127, 0, 0, 1}},
                                      {reuseaddr, true}, {nodelay, true}, {backlog, 1024}]),
    {ok, Port} = inet:port(Listen),
    Parent ! {listening, self(), Port},
    accept_loop(Listen).

accept_loop(Listen) ->
    {ok, Sock} = gen_tcp:accept(Listen),
    Conn = spawn(fun conn_start/0),
    case gen_tcp:controlling_process(Sock, Conn) of
        ok -> Conn ! {serve, Sock};
        {error, _} -> gen_tcp:close(Sock), exit(Conn, kill)
    end,
    accept_loop(Listen).

conn_start() ->
    receive
        {serve, Sock} ->
            ok = inet:setopts(Sock, [{active, once}]),
            conn_loop(Sock, <<>>)
    end.

conn_loop(Sock, Pending) ->
    receive
        {tcp, Sock, Data} ->
            Buf = <<Pending/binary, Data/binary>>,
            case binary:matches(Buf, <<"\n">>) of
                [] ->
                    next(Sock, Buf);
                Newlines ->
                    {Last, 1} = lists:last(Newlines),
                    <<Lines:(Last + 1)/binary, Rest/binary>> = Buf,
                    case gen_tcp:send(Sock, Lines) of
                        ok -> next(Sock, Rest);
                        {error, _} -> ok  % the client went away
                    end
            end;
        {tcp_closed, Sock} ->
            ok;
        {tcp_error, Sock, _} ->
            ok
    end.

next(Sock, Pending) ->
    case inet:setopts(Sock, [{active, once}]) of
        ok -> conn_loop(Sock, Pending);
        {error, _} -> ok
    end.

%% --- the client ---------------------------------------------------------

load_generator() ->
    case os:getenv("RELUP_ECHO_LOAD") of
        false -> error("RELUP_ECHO_LOAD is not set: it names relup_echo_load (run_otp.sh sets it)");
        Path ->
            filelib:is_regular(Path) orelse
                error("no load generator at " ++ Path ++
                      " (build it: cmake --build build-release --target relup_echo_load)"),
            Path
    end.

%% Runs the load generator to its end; its stdout. Its stderr passes through.
run_load(Path, Args) ->
    Port = open_port({spawn_executable, Path}, [{args, Args}, exit_status, binary]),
    collect(Port, <<>>).

collect(Port, Acc) ->
    receive
        {Port, {data, D}} -> collect(Port, <<Acc/binary, D/binary>>);
        {Port, {exit_status, 0}} -> Acc;
        {Port, {exit_status, S}} -> error({load_generator_failed, S, Acc})
    end.

json_number(Json, Key) ->
    case re:run(Json, "\"" ++ Key ++ "\": ([-0-9.eE+]+)", [{capture, all_but_first, list}]) of
        {match, [Text]} ->
            try list_to_float(Text) catch error:badarg -> list_to_integer(Text) end;
        nomatch ->
            error({no_figure, Key, Json})
    end.
