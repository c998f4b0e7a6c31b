using System.Net;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Egress;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.FunctionalTests.Siem;

/// <summary>
/// Issue 5: "level 3: any other outbound connection attempt by the gateway is refused and recorded" and "startup fails,
/// listing every violation". SIEM delivery is such a connection: before this, its sinks dialed whatever their names
/// resolved to at every level. Now startup checks each sink's host with the level's rule (listed with the upstreams'
/// violations), and every connection a sink opens is checked again when it is opened. Names resolve through a stub the
/// test controls; nothing leaves loopback.
/// </summary>
public sealed class SiemEgressTests(ITestOutputHelper output)
{
    private const string Secret = "test-webhook-secret-0123456789";
    private const string SecretVariable = "AIRLOCK_TEST_SIEM_SECRET";
    private const string SiemHost = "siem.corp.test";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Level_3_startup_refuses_sinks_on_public_addresses_listing_each()
    {
        var resolver = new SwitchableResolver().Set(SiemHost, "10.1.2.3", "93.184.216.34");

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => StartAsync(resolver, new Uri($"http://{SiemHost}:8088/ingest"), extra: new SiemSinkConfig
        {
            Name = "collector",
            Kind = SiemSinkKind.Syslog,
            Host = "8.8.8.8",
            Port = 514,
        }));

        Assert.Contains(ex.Errors, e => e.StartsWith("siem.sinks[0] (soc): ", StringComparison.Ordinal) && e.Contains("93.184.216.34 (public)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("siem.sinks[1] (collector): ", StringComparison.Ordinal) && e.Contains("8.8.8.8 (public)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_sink_whose_name_turns_public_is_refused_at_connect_time_and_its_records_wait_for_an_allowed_address()
    {
        await using var receiver = await HttpReceiver.StartAsync(Secret);
        var resolver = new SwitchableResolver().Set(SiemHost, "127.0.0.1");
        await using var harness = await StartAsync(resolver, new UriBuilder(receiver.BaseUri) { Host = SiemHost, Path = "/ingest" }.Uri);
        resolver.Set(SiemHost, "93.184.216.34");

        using (var response = await harness.Client.SendAsync(harness.Messages(RequestBodies.NonStreaming())))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var deadline = DateTime.UtcNow + Patience;
        while (Assert.Single(harness.Gateway.Siem!.Status).Failures == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var status = Assert.Single(harness.Gateway.Siem!.Status);
        Assert.True(status.Failures > 0, "the refused delivery is counted as a failure");
        Assert.Contains("data-egress", status.LastError, StringComparison.Ordinal);
        Assert.Contains("93.184.216.34 (public)", status.LastError, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Attempts);

        // Once the name is private again the same records are delivered: refused, not dropped.
        resolver.Set(SiemHost, "127.0.0.1");
        await receiver.WaitForAsync(docs => docs.Any(d => d.RootElement.GetProperty("records").GetArrayLength() > 0), Patience, "the held records");
        Assert.Equal(0, Assert.Single(harness.Gateway.Siem!.Status).Dropped);
    }

    /// <summary>Level 3 with the scripted upstream on loopback (allowed at level 3) and one webhook sink at <paramref name="url"/>.</summary>
    private Task<GatewayHarness> StartAsync(SwitchableResolver resolver, Uri url, SiemSinkConfig? extra = null) =>
        GatewayHarness.StartAsync(output, config => config with
        {
            Level = 3,
            Upstreams = [config.Upstreams[0] with { Kind = UpstreamKind.Messages }],
            Siem = new SiemConfig
            {
                Sinks = [new SiemSinkConfig { Name = "soc", Kind = SiemSinkKind.Webhook, Url = url, SecretEnv = SecretVariable, Timeout = TimeSpan.FromSeconds(5), BatchSize = 10 },
                    .. extra is null ? Array.Empty<SiemSinkConfig>() : [extra]],
                RetryInitial = TimeSpan.FromMilliseconds(50),
                RetryMax = TimeSpan.FromMilliseconds(400),
            },
        }, upstreamOptions: new ScriptedUpstreamOptions { AcceptBearerToken = true }, upstreamKind: UpstreamKind.Messages, hostResolver: resolver,
        environment: name => name == SecretVariable ? Secret : null);
}
