using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Storage.Sqlite;
using Airlock.Tests.Audit;

namespace Airlock.Tests.Cli;

/// <summary>
/// <c>airlock audit purge [--dry-run]</c> and <c>airlock subject export|erase --user U</c> run as the real CLI process
/// against a real SQLite trail (quickstart defaults: metadata kept two years): what they print, what they change, and
/// that <c>audit verify</c> passes afterwards, on the live store and on an export.
/// </summary>
public sealed class RetentionCommandTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Old = new(2020, 1, 6, 10, 0, 0, TimeSpan.Zero);
    private readonly string _work = Path.Combine(Path.GetTempPath(), "airlock-cli-retention-" + Guid.NewGuid().ToString("N"));

    private string DataDir => Path.Combine(_work, ".airlock");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        Assert.Equal(0, (await RunAsync("audit", "public-key", "--hex")).ExitCode);
        using var key = AuditSigningKey.Load(Path.Combine(DataDir, AuditSigningKey.FileName));
        using var store = await SqliteStore.OpenAsync(DataDir);
        var recent = DateTimeOffset.UtcNow.AddDays(-1);
        await store.AppendAsync(
        [
            AuditSamples.Request("old-ada", Old, user: "ada"),
            AuditSamples.Request("old-bob", Old.AddMinutes(1), user: "bob"),
            AuditSamples.Request("new-ada", recent, user: "ada"),
            AuditSamples.Request("new-bob", recent.AddMinutes(1), user: "bob"),
        ]);
        var head = await store.GetChainHeadAsync();
        await store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, DateTimeOffset.UtcNow));
    }

    public Task DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_work, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Purge_dry_run_changes_nothing_purge_deletes_the_expired_prefix_signs_it_and_verify_passes_live_and_on_an_export()
    {
        var dry = await JsonAsync("audit", "purge", "--dry-run", "--json");
        var afterDry = await IdsAsync();
        var purged = await JsonAsync("audit", "purge", "--json");
        var again = await RunAsync("audit", "purge");
        var verify = await JsonAsync("audit", "verify", "--json");
        var exportFile = Path.Combine(_work, "trail.jsonl");
        var export = await RunAsync("audit", "export", "--output", exportFile);
        var verifyExport = await RunAsync("audit", "verify", "--file", exportFile);
        var remaining = await IdsAsync();

        Assert.True(dry.GetProperty("dry_run").GetBoolean());
        Assert.Equal((2, 1, 2), (dry.GetProperty("metadata_records").GetInt32(), dry.GetProperty("from_sequence").GetInt32(), dry.GetProperty("to_sequence").GetInt32()));
        Assert.Equal(["old-ada", "old-bob", "new-ada", "new-bob"], afterDry);
        Assert.False(purged.GetProperty("dry_run").GetBoolean());
        Assert.Equal(2, purged.GetProperty("metadata_records").GetInt32());
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("metadata: nothing purged", again.Output, StringComparison.Ordinal);
        Assert.Equal("new-ada", remaining[0]);
        Assert.Equal("new-bob", remaining[1]);
        Assert.StartsWith("purge-", remaining[2], StringComparison.Ordinal);
        // The CLI signed the head right after the purge: the purge record is a signed anchor.
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.ToString());
        Assert.Equal(2, verify.GetProperty("purged_through").GetInt64());
        Assert.Equal(0, export.ExitCode);
        Assert.Equal(0, verifyExport.ExitCode);
        Assert.StartsWith("intact:", verifyExport.Output, StringComparison.Ordinal);
        Assert.Contains("seq 1..2 purged", verifyExport.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_purge_anchor_without_its_signature_fails_verify_naming_the_purge_record()
    {
        await JsonAsync("audit", "purge", "--json");
        // Remove the checkpoint the CLI signed after the purge (seq 5, the purge record): only the one at seq 4 is left.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataDir, "airlock.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM audit_checkpoints WHERE seq = 5";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var verify = await RunAsync("audit", "verify");

        Assert.Equal(1, verify.ExitCode);
        Assert.Contains("TAMPERED", verify.Output, StringComparison.Ordinal);
        Assert.Contains("seq 5 (request purge-", verify.Output, StringComparison.Ordinal);
        Assert.Contains("unsigned purge anchor", verify.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subject_export_holds_the_persons_records_and_erase_pseudonymises_them_keeping_the_chain_verifiable()
    {
        var created = await JsonAsync("keys", "create", "--user", "ada", "--team", "platform", "--json");
        var export = await RunAsync("subject", "export", "--user", "ada");
        var unconfirmed = await RunAsync("subject", "erase", "--user", "ada");
        var erase = await RunAsync("subject", "erase", "--user", "ada", "--yes");
        var afterwards = await JsonAsync("subject", "export", "--user", "ada");
        var adaRecords = await JsonAsync("audit", "list", "--json", "--user", "ada");
        var verify = await JsonAsync("audit", "verify", "--json");

        Assert.Equal(0, export.ExitCode);
        using (var document = JsonDocument.Parse(export.Output))
        {
            var root = document.RootElement;
            Assert.Equal("ada", root.GetProperty("subject").GetString());
            Assert.Equal(["old-ada", "new-ada", null], root.GetProperty("records").EnumerateArray()
                .Select(r => r.GetProperty("kind").GetString() == "admin" ? null : r.GetProperty("request_id").GetString()));
            Assert.Equal(created.GetProperty("id").GetString(), Assert.Single(root.GetProperty("keys").EnumerateArray()).GetProperty("id").GetString());
            Assert.DoesNotContain("old-bob", export.Output, StringComparison.Ordinal);
        }
        Assert.Equal(2, unconfirmed.ExitCode);
        Assert.Contains("--yes", unconfirmed.Error, StringComparison.Ordinal);
        Assert.Equal(0, erase.ExitCode);
        Assert.Contains("erased: 3 records pseudonymised as ", erase.Output, StringComparison.Ordinal);
        Assert.Contains("1 keys revoked", erase.Output, StringComparison.Ordinal);
        Assert.Empty(afterwards.GetProperty("records").EnumerateArray());
        Assert.Empty(adaRecords.EnumerateArray());
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.ToString());
    }

    private async Task<List<string>> IdsAsync()
    {
        using var store = await SqliteStore.OpenAsync(DataDir);
        return [.. (await store.QueryAsync(new AuditQuery { OldestFirst = true, Limit = 100 })).Select(r => r.RequestId)];
    }

    private async Task<JsonElement> JsonAsync(params string[] args)
    {
        var result = await RunAsync(args);
        Assert.True(result.ExitCode == 0, $"airlock {string.Join(' ', args)} exited {result.ExitCode}: {result.Error}");
        using var document = JsonDocument.Parse(result.Output);
        return document.RootElement.Clone();
    }

    private Task<CliResult> RunAsync(params string[] args) => AirlockCli.RunAsync(_work, args);
}
