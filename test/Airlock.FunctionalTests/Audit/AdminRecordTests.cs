using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Gateway.Audit;
using Airlock.Storage.Sqlite;

namespace Airlock.FunctionalTests.Audit;

/// <summary><c>airlock keys create</c> and <c>keys revoke</c> leave chained admin records: who, what, when; never the key.</summary>
public sealed class AdminRecordTests
{
    [Fact]
    public async Task Key_create_and_revoke_are_chained_admin_records_without_the_key()
    {
        using var temp = new TempDataDirectory("airlock-admin-");
        var work = temp.Path;
        Directory.CreateDirectory(work);
        var created = JsonDocument.Parse(await BuiltCli.RunAsync(work, "keys", "create", "--user", "grace", "--team", "compilers", "--json")).RootElement;
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        await BuiltCli.RunAsync(work, "keys", "revoke", id);

        using var store = await SqliteStore.OpenAsync(Path.Combine(work, ".airlock"));
        var records = (await store.QueryAsync(new AuditQuery { Kind = AuditKind.Admin, Limit = 10 })).Reverse().ToList();
        Assert.Equal([AdminActions.KeyCreate, AdminActions.KeyRevoke], records.Select(r => r.Operation));
        Assert.All(records, r =>
        {
            Assert.Equal(id, r.KeyId);
            Assert.Equal("grace", r.User);
            Assert.Equal("compilers", r.Team);
            Assert.Equal("cli", r.Door);
            Assert.Contains("os user " + Environment.UserName, r.UserAgent, StringComparison.Ordinal);
            Assert.True(r.Time > DateTimeOffset.UtcNow.AddMinutes(-10));
            Assert.NotNull(r.Chain);
        });
        Assert.Equal("role=developer", records[0].Detail);
        Assert.Equal("key_id=" + id, records[1].Detail);
        Assert.Equal(records[0].Chain!.Sequence + 1, records[1].Chain!.Sequence);
        // The key itself is shown once and stored nowhere: not in any audit file of the data directory.
        foreach (var file in Directory.GetFiles(Path.Combine(work, ".airlock")))
        {
            Assert.DoesNotContain(key, await ReadSharedAsync(file), StringComparison.Ordinal);
        }
        var export = await BuiltCli.RunAsync(work, "audit", "export", "--format", "jsonl");
        Assert.DoesNotContain(key, export, StringComparison.Ordinal);
        Assert.Contains("intact", await BuiltCli.RunAsync(work, "audit", "verify"), StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
        return await reader.ReadToEndAsync();
    }
}
