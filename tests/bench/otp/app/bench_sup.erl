-module(bench_sup).
-behaviour(supervisor).
-export([start_link/0, start_workers/1, init/1]).

start_link() -> supervisor:start_link({local, ?MODULE}, ?MODULE, []).

%% Starts N accounts with the seed's state.
start_workers(N) ->
    [begin
         {ok, _} = supervisor:start_child(?MODULE, [#{name => <<"blackode">>, money => 30000}])
     end || _ <- lists:seq(1, N)],
    ok.

init([]) ->
    Child = #{id => bench_account, start => {bench_account, start_link, []},
              restart => temporary, type => worker, modules => [bench_account]},
    {ok, {#{strategy => simple_one_for_one, intensity => 0, period => 1}, [Child]}}.
