using Airlock.Protocols.Aws.Bedrock;

namespace Airlock.Tests.Aws;

public class BedrockEndpointTests
{
    [Fact]
    public void Default_host_follows_the_region()
    {
        var endpoint = new BedrockEndpoint("eu-central-1");
        Assert.Equal("https://bedrock-runtime.eu-central-1.amazonaws.com/model/eu.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke",
            endpoint.InvokeUri("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", BedrockOperation.Invoke).OriginalString);
        Assert.False(endpoint.IsVpcEndpoint);
    }

    [Theory]
    [InlineData("vpce-0123456789abcdef0-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com", "us-east-1")]
    [InlineData("vpce-0123456789abcdef0-abcdefgh-us-east-1a.bedrock-runtime.us-east-1.vpce.amazonaws.com", "us-east-1")]
    [InlineData("bedrock-runtime.us-east-1.amazonaws.com", null)]
    [InlineData("vpce-1-2.bedrock-runtime.us-east-1.vpce.amazonaws.com.evil.example", null)]
    [InlineData("vpce-1-2.s3.us-east-1.vpce.amazonaws.com", null)]
    public void Vpc_endpoint_host_names_are_recognised(string host, string? region) =>
        Assert.Equal(region, BedrockEndpoint.VpcEndpointRegion(host));

    [Fact]
    public void Endpoint_override_keeps_host_port_and_base_path()
    {
        var vpce = new BedrockEndpoint("us-east-1", new Uri("https://vpce-0abc-defg.bedrock-runtime.us-east-1.vpce.amazonaws.com"));
        Assert.True(vpce.IsVpcEndpoint);
        Assert.Equal("https://vpce-0abc-defg.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/m/invoke-with-response-stream",
            vpce.InvokeUri("m", BedrockOperation.InvokeWithResponseStream).OriginalString);
        var local = new BedrockEndpoint("us-east-1", new Uri("http://127.0.0.1:5123/bedrock/"));
        Assert.Equal("http://127.0.0.1:5123/bedrock/model/a%3Ab/invoke", local.InvokeUri("a:b", BedrockOperation.Invoke).OriginalString);
        Assert.False(new BedrockEndpoint("eu-west-1", new Uri("https://vpce-0abc-defg.bedrock-runtime.us-east-1.vpce.amazonaws.com")).IsVpcEndpoint);
    }

    [Theory]
    [InlineData("US-EAST-1")]
    [InlineData("us-east")]
    [InlineData("")]
    [InlineData("us-east-1.evil.com")]
    public void Bad_regions_are_refused(string region) => Assert.Throws<ArgumentException>(() => new BedrockEndpoint(region));

    [Fact]
    public void Bad_overrides_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new BedrockEndpoint("us-east-1", new Uri("ftp://x")));
        Assert.Throws<ArgumentException>(() => new BedrockEndpoint("us-east-1", new Uri("https://x/?a=b")));
        Assert.Throws<ArgumentException>(() => new BedrockEndpoint("us-east-1", new Uri("https://user:pw@x/")));
    }

    [Theory]
    [InlineData("/model/anthropic.claude-3-haiku-20240307-v1:0/invoke", "anthropic.claude-3-haiku-20240307-v1:0", BedrockOperation.Invoke)]
    [InlineData("/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream", "anthropic.claude-3-haiku-20240307-v1:0", BedrockOperation.InvokeWithResponseStream)]
    [InlineData("/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc/invoke-with-response-stream",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", BedrockOperation.InvokeWithResponseStream)]
    [InlineData("/model/us.anthropic.claude-opus-4-1-20250805-v1%3A0/invoke?x=1", "us.anthropic.claude-opus-4-1-20250805-v1:0", BedrockOperation.Invoke)]
    public void Door_paths_parse_from_the_raw_target(string raw, string model, BedrockOperation operation)
    {
        Assert.True(BedrockModelId.TryParseInvokePath(raw, out var id, out var op, out var error), error);
        Assert.Equal(model, id);
        Assert.Equal(operation, op);
    }

    [Theory]
    [InlineData("/model/../invoke", "'.' or '..' segment")]
    [InlineData("/model/%2e%2e/invoke", "'.' or '..' segment")]
    [InlineData("/model/a%2F..%2Fb/invoke", "'.' or '..' segment")]
    [InlineData("/model/%252e%252e/invoke", "double-encoded")]
    [InlineData("/model/a%2F%2Fb/invoke", "empty path segment")]
    [InlineData("/model/a%00b/invoke", "outside")]
    [InlineData("/model/a%20b/invoke", "outside")]
    [InlineData("/model//invoke", "empty")]
    [InlineData("/model/a/b/invoke", "unknown Bedrock operation")]
    [InlineData("/model/a/converse", "unknown Bedrock operation")]
    [InlineData("/models/a/invoke", "path must be")]
    [InlineData("/model/a", "path must be")]
    public void Path_tricks_are_refused_without_echoing_the_id(string raw, string expected)
    {
        Assert.False(BedrockModelId.TryParseInvokePath(raw, out _, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Model_ids_longer_than_2048_are_refused()
    {
        Assert.Null(BedrockModelId.Validate(new string('a', 2048)));
        Assert.Contains("2048", BedrockModelId.Validate(new string('a', 2049)), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new BedrockEndpoint("us-east-1").InvokeUri("../x", BedrockOperation.Invoke));
    }
}
