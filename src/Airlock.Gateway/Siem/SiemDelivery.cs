using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Gateway.Audit;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Siem;

/// <summary>
/// Ships committed audit records to the configured SIEM sinks, off the request path: the audit writer hands each
/// committed batch to <see cref="Offer"/> (only durable records are shipped), which copies it into every sink's
/// <see cref="SiemSinkDelivery"/> without waiting on any sink. Dispose after the audit writer, so its last records are
/// queued (and spilled, if undelivered) before the queues stop.
/// </summary>
public sealed class SiemDelivery : IAsyncDisposable
{
    private readonly IReadOnlyList<SiemSinkDelivery> _queues;

    private SiemDelivery(IReadOnlyList<SiemSinkDelivery> queues) => _queues = queues;

    /// <summary>Each sink's counters.</summary>
    public IReadOnlyList<SiemSinkStatus> Status => [.. _queues.Select(q => q.Status)];

    /// <summary>
    /// Creates the sinks of <paramref name="config"/> (null when there are none) and subscribes to
    /// <paramref name="writer"/>. Gap records are written through the same writer.
    /// </summary>
    /// <exception cref="ConfigurationException">A webhook secret is missing or a sink cannot be set up.</exception>
    public static SiemDelivery? Start(AirlockConfig config, AuditWriter writer, Func<string, string?> getEnvironment, ILoggerFactory loggers, TimeProvider time,
        IHostResolver? resolver = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(loggers);
        var siem = config.Siem;
        if (siem.Sinks.Count == 0)
        {
            return null;
        }
        var spillDir = siem.SpillDir ?? Path.Combine(config.DataDir, "siem");
        var logger = loggers.CreateLogger<SiemDelivery>();
        var queues = new List<SiemSinkDelivery>();
        // Every connection a sink opens is checked against the data-egress level when it is opened.
        var egress = new SiemEgress(config, resolver ?? DnsHostResolver.Instance);
        foreach (var sinkConfig in siem.Sinks)
        {
            ISiemSink sink = sinkConfig.Kind switch
            {
                SiemSinkKind.Webhook => new WebhookSink(sinkConfig, LoadSecret(config, sinkConfig, getEnvironment), time, egress.ConnectCallback(sinkConfig)),
                SiemSinkKind.Otlp => new OtlpLogsSink(sinkConfig, time, egress.ConnectCallback(sinkConfig)),
                _ => new SyslogSink(sinkConfig, ct => egress.AddressesAsync(sinkConfig, ct)),
            };
            queues.Add(new SiemSinkDelivery(sink, siem, sinkConfig, spillDir, writer.EnqueueAsync, logger, time));
        }
        var delivery = new SiemDelivery(queues);
        writer.ObserveCommitted(delivery.Offer);
        return delivery;
    }

    /// <summary>Hands committed records to every sink's queue; never blocks on a sink.</summary>
    public void Offer(IReadOnlyList<AuditRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var queue in _queues)
        {
            foreach (var record in records)
            {
                queue.Offer(record);
            }
        }
    }

    private static byte[] LoadSecret(AirlockConfig config, SiemSinkConfig sink, Func<string, string?> getEnvironment)
    {
        var key = $"siem.sinks[{sink.Name}]";
        string? secret;
        if (sink.SecretEnv is { } variable)
        {
            secret = getEnvironment(variable);
            if (string.IsNullOrEmpty(secret))
            {
                throw new ConfigurationException(config.Source, [$"{key}.secret_env: environment variable {variable} is not set"]);
            }
        }
        else
        {
            try
            {
                secret = File.ReadAllText(sink.SecretFile!).TrimEnd();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ConfigurationException(config.Source, [$"{key}.secret_file: {ex.Message}"]);
            }
        }
        if (secret.Length < 16)
        {
            throw new ConfigurationException(config.Source, [$"{key}: the webhook secret must be at least 16 characters"]);
        }
        return Encoding.UTF8.GetBytes(secret);
    }

    /// <summary>Stops every queue (undelivered records are spilled for the next run).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync().ConfigureAwait(false);
        }
    }
}
