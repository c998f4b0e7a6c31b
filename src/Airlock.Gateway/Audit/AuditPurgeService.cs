using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Airlock.Core.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Audit;

/// <summary>
/// Enforces <c>audit.retention</c> from the gateway: a purge shortly after start, then every
/// <c>purge_interval</c>, each followed by a signed checkpoint so the purge record that anchors the remaining chain is
/// under a signature at once. Several replicas may run it: purges of the same prefix agree, and each is recorded.
/// </summary>
public sealed partial class AuditPurgeService(AirlockConfig config, OpenedAuditStoreAccessor stores, AuditWriter writer, TimeProvider time,
    ILogger<AuditPurgeService> logger) : BackgroundService
{
    /// <summary>Delay before the first purge after start.</summary>
    public static TimeSpan FirstRunDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retention = config.Audit.Retention;
        if (!retention.Enabled || stores.Store is not IAuditRetentionStore retentionStore)
        {
            return;
        }
        var purger = new AuditPurger(stores.Store, retentionStore, stores.Store as IAuditContentStore, time);
        try
        {
            await Task.Delay(FirstRunDelay, time, stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(retention.PurgeInterval, time);
            do
            {
                try
                {
                    var report = await purger.PurgeAsync(retention, dryRun: false, stoppingToken).ConfigureAwait(false);
                    if (report.MetadataRecords + report.ContentBlobs + report.DestroyedKeyPeriods.Count > 0)
                    {
                        // Forced: the purge record went to the store directly, so the writer may have nothing new of its own.
                        await writer.CheckpointHeadAsync(stoppingToken).ConfigureAwait(false);
                        LogPurged(logger, report.MetadataRecords, report.ContentBlobs, report.DestroyedKeyPeriods.Count);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Retried at the next interval; only the type is logged.
                    LogPurgeFailed(logger, ex.GetType().Name);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "retention purge: {Records} records, {Contents} captured contents, {Keys} data keys destroyed")]
    private static partial void LogPurged(ILogger logger, long records, long contents, int keys);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "retention purge failed ({ErrorType}); retried at the next interval")]
    private static partial void LogPurgeFailed(ILogger logger, string errorType);
}

/// <summary>The gateway's opened audit store, for services that need the store itself rather than the writer.</summary>
public sealed class OpenedAuditStoreAccessor(IAuditStore store)
{
    /// <summary>The store.</summary>
    public IAuditStore Store { get; } = store;
}
