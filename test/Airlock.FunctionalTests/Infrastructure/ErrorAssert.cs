using System.Net;
using System.Text.Json;
using Airlock.Core.Audit;

namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>Checks the Anthropic error shape <c>{"type":"error","error":{"type":…,"message":…}}</c>.</summary>
internal static class ErrorAssert
{
    /// <summary>Asserts status, content type and error shape; returns the message.</summary>
    public static async Task<string> IsAnthropicErrorAsync(HttpResponseMessage response, HttpStatusCode status, string errorType)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return IsErrorJson(body, errorType);
    }

    public static string IsErrorJson(string json, string errorType)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal("error", root.GetProperty("type").GetString());
        var error = root.GetProperty("error");
        Assert.Equal(errorType, error.GetProperty("type").GetString());
        var message = error.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message!;
    }

    /// <summary>Asserts the audit record of a request refused by the egress guard: rejected, 403, <c>egress_refused</c>.</summary>
    public static void IsEgressRefusal(AuditRecord record)
    {
        Assert.Equal("egress_refused", record.ErrorType);
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
        Assert.Equal(403, record.Status);
    }
}
