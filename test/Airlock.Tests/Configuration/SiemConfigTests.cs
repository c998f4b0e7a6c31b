using Airlock.Core.Configuration;

namespace Airlock.Tests.Configuration;

public sealed class SiemConfigTests
{
    private const string Base = """
        level: 3
        upstreams:
          - name: onprem
            kind: messages
            url: http://10.0.0.5:8000
        routes:
          - models: "*"
            upstream: onprem

        """;

    private static AirlockConfig Parse(string siem) => ConfigLoader.Parse(Base + siem, "airlock.yaml", "/srv/airlock", new Dictionary<string, string?>());

    [Fact]
    public void No_section_means_no_sinks_and_the_documented_defaults()
    {
        var siem = Parse("").Siem;
        Assert.Empty(siem.Sinks);
        Assert.Equal(10_000, siem.QueueCapacity);
        Assert.Equal(256L * 1024 * 1024, siem.SpillMaxBytes);
        Assert.Null(siem.SpillDir);
    }

    [Fact]
    public void Every_sink_kind_is_read_with_its_defaults()
    {
        var siem = Parse("""
            siem:
              queue_capacity: 500
              spill_dir: spill
              retry_initial: 100ms
              retry_max: 5s
              sinks:
                - name: soc
                  kind: webhook
                  url: https://soc.example.com/airlock
                  secret_env: AIRLOCK_SIEM_SECRET
                - name: syslog-tls
                  kind: syslog
                  transport: tls
                  host: siem.example.com
                  payload: cef
                - name: otel
                  kind: otlp
                  url: http://collector:4318/v1/logs
                  timeout: 2s
                  batch_size: 50
            """).Siem;
        Assert.Equal(500, siem.QueueCapacity);
        Assert.Equal("/srv/airlock/spill", siem.SpillDir);
        Assert.Equal(TimeSpan.FromMilliseconds(100), siem.RetryInitial);
        Assert.Equal(3, siem.Sinks.Count);
        Assert.Equal(SiemSinkKind.Webhook, siem.Sinks[0].Kind);
        Assert.Equal("AIRLOCK_SIEM_SECRET", siem.Sinks[0].SecretEnv);
        Assert.Equal(SyslogTransport.Tls, siem.Sinks[1].Transport);
        Assert.Equal(6514, siem.Sinks[1].Port);
        Assert.Equal(SyslogPayload.Cef, siem.Sinks[1].Payload);
        Assert.Equal(13, siem.Sinks[1].Facility);
        Assert.Equal(new Uri("http://collector:4318/v1/logs"), siem.Sinks[2].Url);
        Assert.Equal(TimeSpan.FromSeconds(2), siem.Sinks[2].Timeout);
        Assert.Equal(50, siem.Sinks[2].BatchSize);
    }

    [Theory]
    [InlineData("- name: a\n      kind: webhook\n      url: https://x.example", "needs secret_env or secret_file")]
    [InlineData("- name: a\n      kind: webhook\n      url: https://x.example\n      secret_env: not a name!", "must be the NAME of an environment variable")]
    [InlineData("- name: a\n      kind: syslog\n      transport: quic\n      host: h", "transport")]
    [InlineData("- name: a\n      kind: syslog", "host: is required")]
    [InlineData("- name: a\n      kind: otlp", "url: is required")]
    [InlineData("- name: a b\n      kind: otlp\n      url: http://c:4318/v1/logs", "must be unique")]
    [InlineData("- name: a\n      kind: splunk", "kind")]
    [InlineData("- name: a\n      kind: syslog\n      host: h\n      ca_file: /nonexistent/ca.pem", "file not found")]
    public void Mistakes_are_reported_with_the_key(string sink, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => Parse("siem:\n  sinks:\n    " + sink + "\n"));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
