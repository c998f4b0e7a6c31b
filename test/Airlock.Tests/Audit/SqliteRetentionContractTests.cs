using Airlock.Core.Audit;
using Airlock.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Airlock.Tests.Audit;

/// <summary>Retention, erasure and capture on the embedded SQLite store.</summary>
public sealed class SqliteRetentionContractTests : RetentionContractTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "airlock-retention-" + Guid.NewGuid().ToString("N"));

    private string DataDir => Path.Combine(_root, "data");

    protected override async Task<IAuditStore> OpenStoreAsync() => await SqliteStore.OpenAsync(DataDir);

    // Its own connections and writer: what a second process (the CLI, another gateway on the same host) appends through.
    protected override async Task<IAuditStore> OpenSecondStoreAsync() => await SqliteStore.OpenAsync(DataDir);

    protected override async Task<IAuditStore> ReopenFromSchemaWithoutDetailAsync()
    {
        SqliteConnection.ClearAllPools();
        await ExecuteSqlAsync("ALTER TABLE audit_records DROP COLUMN detail; PRAGMA user_version = 4;");
        return await SqliteStore.OpenAsync(DataDir);
    }

    protected override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new SqliteConnection("Data Source=" + Path.Combine(DataDir, "airlock.db"));
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }
}
