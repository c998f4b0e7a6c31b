using System.Diagnostics;
using System.Globalization;
using Airlock.Core.Audit;
using Airlock.Gateway.Audit;
using Airlock.Storage.Postgres;
using Airlock.Storage.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

// dotnet run -c Release --project bench/Airlock.AuditBench -- sqlite|postgres [seconds]
// PostgreSQL: the connection string comes from AIRLOCK_BENCH_POSTGRES (scripts/test-postgres.sh start prints one).
// Two legs per store: "queued" (producers enqueue as fast as the writer accepts; the writer group-commits) and
// "durable" (64 concurrent callers each await WriteDurableAsync, as the request pipeline will), then the chain is verified.
var storeName = args.FirstOrDefault() ?? "sqlite";
var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 10;
var dataDir = Path.Combine(Path.GetTempPath(), "airlock-auditbench-" + Guid.NewGuid().ToString("N"));
IAuditStore store = storeName switch
{
    "sqlite" => await SqliteStore.OpenAsync(dataDir),
    "postgres" => await PostgresAuditStore.OpenAsync(await FreshDatabaseAsync(Environment.GetEnvironmentVariable("AIRLOCK_BENCH_POSTGRES")
        ?? throw new InvalidOperationException("set AIRLOCK_BENCH_POSTGRES"))),
    _ => throw new ArgumentException("sqlite or postgres"),
};
try
{
    Console.WriteLine($"store={storeName} machine={Environment.MachineName} cores={Environment.ProcessorCount} leg_seconds={seconds}");
    await QueuedAsync(store, seconds);
    await DurableAsync(store, seconds);
    var sw = Stopwatch.StartNew();
    var verification = await AuditChainVerifier.VerifyStoreAsync(store, trustedKey: null);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"verify: intact={verification.Intact} records={verification.Records} in {sw.Elapsed.TotalSeconds:F1}s ({verification.Records / sw.Elapsed.TotalSeconds:F0} records/s)"));
}
finally
{
    (store as IDisposable)?.Dispose();
    if (Directory.Exists(dataDir))
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dataDir, recursive: true);
    }
}

static async Task QueuedAsync(IAuditStore store, double seconds)
{
    await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);
    var stop = DateTime.UtcNow.AddSeconds(seconds);
    var sw = Stopwatch.StartNew();
    var producers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
    {
        var i = 0L;
        while (DateTime.UtcNow < stop)
        {
            await writer.EnqueueAsync(Record(p, i++));
        }
    })).ToArray();
    await Task.WhenAll(producers);
    await writer.FlushAsync();
    sw.Stop();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"queued:  {writer.Written} records in {sw.Elapsed.TotalSeconds:F1}s = {writer.Written / sw.Elapsed.TotalSeconds:F0} records/s (committed, flush included)"));
}

static async Task DurableAsync(IAuditStore store, double seconds)
{
    await using var writer = new AuditWriter(store, NullLogger<AuditWriter>.Instance);
    var stop = DateTime.UtcNow.AddSeconds(seconds);
    var latencies = new List<double>[64];
    var sw = Stopwatch.StartNew();
    var callers = Enumerable.Range(0, 64).Select(c => Task.Run(async () =>
    {
        var own = latencies[c] = [];
        var i = 0L;
        while (DateTime.UtcNow < stop)
        {
            var t = Stopwatch.GetTimestamp();
            await writer.WriteDurableAsync(Record(100 + c, i++));
            own.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
    })).ToArray();
    await Task.WhenAll(callers);
    sw.Stop();
    var all = latencies.SelectMany(l => l).Order().ToArray();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"durable: {all.Length} records in {sw.Elapsed.TotalSeconds:F1}s = {all.Length / sw.Elapsed.TotalSeconds:F0} records/s; wait p50 {all[all.Length / 2]:F2} ms, p99 {all[(int)(all.Length * 0.99)]:F2} ms (64 callers)"));
}

static AuditRecord Record(int producer, long i) => new()
{
    RequestId = string.Create(CultureInfo.InvariantCulture, $"req_{producer:x2}{i:x10}"),
    Time = DateTimeOffset.UtcNow,
    Door = "messages",
    Operation = "messages",
    KeyId = "AbCdEfGhIjKl",
    User = "ada@example.com",
    Team = "platform",
    SessionId = "8d0e8a3c-3f1e-4b7a-9a53-0c2b1d1f0e42",
    Model = "claude-opus-5-5",
    Upstream = "bedrock-eu",
    Status = 200,
    Outcome = AuditOutcome.Ok,
    LatencyMs = 812.5,
    TimeToFirstByteMs = 402.25,
    InputTokens = 48_211,
    OutputTokens = 912,
    CacheReadTokens = 45_000,
    CacheCreationTokens = 3_000,
    RequestBytes = 210_433,
    ResponseBytes = 8_192,
    BodySha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    UpstreamRequestId = "req_011CQ2nUX7wz4bCPmNbMd8hP",
    UserAgent = "claude-cli/2.1.330 (external, cli)",
    ClientAddress = "10.1.2.3",
    Findings = [new AuditFinding("email", "personal-data", "messages[4].content[0].text", "redact", "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b")],
};

static async Task<string> FreshDatabaseAsync(string server)
{
    var name = "airlock_bench_" + Guid.NewGuid().ToString("N");
    await using var connection = new Npgsql.NpgsqlConnection(server);
    await connection.OpenAsync();
    await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
    await command.ExecuteNonQueryAsync();
    return new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = name }.ToString();
}
