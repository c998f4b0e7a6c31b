using System.Globalization;
using Airlock.Core.Identity;
using Airlock.Storage.Sqlite;

namespace Airlock.Benchmarks;

/// <summary>
/// <c>keyauth</c>: thread CPU time of the per-request key check (parse, SHA-256, SQLite lookup by id) against the
/// embedded store, and of its parts: what a cache of key records could save at most.
/// </summary>
internal static class KeyAuthenticationProbe
{
    public static void Run()
    {
        var dir = Directory.CreateTempSubdirectory("airlock-keyauth-");
        try
        {
            RunAsync(dir.FullName).GetAwaiter().GetResult();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task RunAsync(string dataDir)
    {
        using var store = await SqliteStore.OpenAsync(dataDir);
        var (key, id) = ApiKeys.Generate();
        await store.CreateKeyAsync(new KeyRecord { Id = id, Hash = ApiKeys.Hash(key), User = "bench", Team = "t", CreatedAt = DateTimeOffset.UtcNow });
        for (var i = 0; i < 200; i++)
        {
            var (other, otherId) = ApiKeys.Generate();
            await store.CreateKeyAsync(new KeyRecord { Id = otherId, Hash = ApiKeys.Hash(other), User = "u" + i, CreatedAt = DateTimeOffset.UtcNow });
        }

        var authenticator = new KeyAuthenticator(store, TimeProvider.System);
        // The floor of any per-request check that asks SQLite (a cache validated by a generation row would pay it).
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store.Path}");
        connection.Open();
        using var scalar = connection.CreateCommand();
        scalar.CommandText = "SELECT revoked_at FROM api_keys WHERE id = $id";
        scalar.Parameters.AddWithValue("$id", id);
        scalar.Prepare();
        (string Name, Func<ValueTask> Run)[] cases =
        [
            ("authenticate", async () => _ = await authenticator.AuthenticateAsync(key)),
            ("parse", () => { _ = ApiKeys.TryParse(key, out _); return ValueTask.CompletedTask; }),
            ("sha256 of key", () => { _ = ApiKeys.Hash(key); return ValueTask.CompletedTask; }),
            ("sqlite lookup", async () => _ = await store.FindKeyAsync(id)),
            ("sqlite scalar", () => { _ = scalar.ExecuteScalar(); return ValueTask.CompletedTask; }),
        ];
        var warm = System.Diagnostics.Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(3))
        {
            foreach (var (_, run) in cases)
            {
                await run();
            }
        }

        foreach (var (name, run) in cases)
        {
            var batches = new List<double>();
            for (var b = 0; b < 15; b++)
            {
                // All calls complete synchronously (SQLite has no real async I/O), so the thread stays the same.
                var t0 = ThreadCpuClock.Now();
                for (var i = 0; i < 500; i++)
                {
                    await run();
                }

                batches.Add((ThreadCpuClock.Now() - t0) / 500 * 1e6);
            }

            batches.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-16} {batches[batches.Count / 2],7:F2} us CPU/op (min {batches[0]:F2})"));
        }
    }
}
