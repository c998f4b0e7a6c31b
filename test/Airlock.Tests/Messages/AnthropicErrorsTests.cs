using System.Text;
using System.Text.Json;
using Airlock.Protocols.Messages;
using Airlock.Protocols.Sse;
using Airlock.Tests.Sse;

namespace Airlock.Tests.Messages;

public sealed class AnthropicErrorsTests
{
    [Fact]
    public void Body_has_the_anthropic_error_shape()
    {
        var body = AnthropicErrors.Body(AnthropicErrors.NotFound, "model 'x' is not served");

        Assert.Equal("""{"type":"error","error":{"type":"not_found_error","message":"model 'x' is not served"}}""", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void Message_text_round_trips_through_json_escaping()
    {
        const string message = "quote \" backslash \\ newline \n tab \t <tag> & é 😀 \u0001";

        using var document = JsonDocument.Parse(AnthropicErrors.Body(AnthropicErrors.InvalidRequest, message));

        Assert.Equal(message, document.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(2, document.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public void Sse_event_is_one_error_event_a_client_parser_reads_back()
    {
        var bytes = AnthropicErrors.SseEvent(AnthropicErrors.Api, "upstream connection was lost mid-stream");
        var sink = new RecordingSink();
        using (var parser = new SseEventParser())
        {
            parser.Feed(bytes, sink);
        }

        Assert.StartsWith("event: error\ndata: {", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        Assert.EndsWith("}\n\n", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        var (type, data) = Assert.Single(sink.Events);
        Assert.Equal("error", type);
        Assert.Equal(Encoding.UTF8.GetString(AnthropicErrors.Body(AnthropicErrors.Api, "upstream connection was lost mid-stream")), data);
    }

    [Fact]
    public void Sse_event_with_a_multiline_message_stays_one_data_line()
    {
        var text = Encoding.UTF8.GetString(AnthropicErrors.SseEvent(AnthropicErrors.Api, "line1\nline2\r\n"));

        Assert.Equal(3, text.Split('\n').Length - 1);
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(413, "request_too_large")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    [InlineData(502, "api_error")]
    [InlineData(504, "api_error")]
    [InlineData(529, "overloaded_error")]
    public void Error_type_follows_the_status(int status, string type)
    {
        Assert.Equal(type, AnthropicErrors.TypeForStatus(status));
    }
}
