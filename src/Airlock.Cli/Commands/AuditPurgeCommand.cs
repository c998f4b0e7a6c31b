using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Airlock.Gateway.Audit;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock audit purge [--dry-run]</c>: enforces <c>audit.retention</c> now.</summary>
internal static class AuditPurgeCommand
{
    public static Command Create()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be purged; change nothing" };
        var command = new Command("purge", "Delete metadata and captured content older than audit.retention allows (recorded in the trail; the chain still verifies)")
        {
            dryRun, CommonOptions.Json,
        };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            await using var opened = await AuditStores.OpenAsync(config, cancellationToken);
            if (opened.Store is not IAuditRetentionStore retention)
            {
                await Console.Error.WriteLineAsync("this audit store does not support purging");
                return 2;
            }
            var purger = new AuditPurger(opened.Store, retention, opened.Store as IAuditContentStore, TimeProvider.System) { Actor = "cli" };
            var report = await purger.PurgeAsync(config.Audit.Retention, parse.GetValue(dryRun), cancellationToken);
            if (!report.DryRun && report.MetadataRecords + report.ContentBlobs + report.DestroyedKeyPeriods.Count > 0)
            {
                // Sign the head at once: the purge record that anchors the remaining chain is then under a signature.
                await AuditCheckpoints.SignHeadAsync(opened, cancellationToken);
            }
            if (parse.GetValue(CommonOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    dry_run = report.DryRun,
                    metadata_records = report.MetadataRecords,
                    from_sequence = report.FromSequence,
                    to_sequence = report.ToSequence,
                    content_blobs = report.ContentBlobs,
                    destroyed_key_periods = report.DestroyedKeyPeriods,
                }));
                return 0;
            }
            var verb = report.DryRun ? "would purge" : "purged";
            Console.WriteLine(report.MetadataRecords == 0
                ? $"metadata: nothing {(report.DryRun ? "due" : "purged")}"
                : string.Create(CultureInfo.InvariantCulture, $"metadata: {verb} {report.MetadataRecords} records (seq {report.FromSequence}..{report.ToSequence})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"content: {verb} {report.ContentBlobs} captured contents"));
            if (report.DestroyedKeyPeriods.Count > 0)
            {
                Console.WriteLine("data keys destroyed: " + string.Join(' ', report.DestroyedKeyPeriods));
            }
            return 0;
        }));
        return command;
    }
}

/// <summary>Signing the chain head from the CLI after it changed the trail (purge, erasure).</summary>
internal static class AuditCheckpoints
{
    public static async Task SignHeadAsync(OpenedAuditStore opened, CancellationToken cancellationToken)
    {
        using var key = opened.LoadSigningKey();
        if (key is null)
        {
            return;
        }
        var head = await opened.Store.GetChainHeadAsync(cancellationToken);
        if (head.Sequence > 0)
        {
            await opened.Store.AppendCheckpointAsync(key.Sign(head.Sequence, head.Hash.Span, DateTimeOffset.UtcNow), cancellationToken);
        }
    }
}
