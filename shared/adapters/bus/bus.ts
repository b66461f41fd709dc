/** The message bus between the functions: Pub/Sub in the cloud, an in-process bus locally. */
export interface OutgoingMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

export interface Bus {
  readonly name: 'memory' | 'pubsub';
  /** Publishes messages to a topic (batched by the implementation); resolves with their ids. */
  publish(topic: string, messages: OutgoingMessage[]): Promise<string[]>;
  close(): Promise<void>;
}

/** A Pub/Sub message inside a CloudEvent, exactly as Google delivers it to a function. */
export interface PubSubMessageData {
  subscription?: string;
  message: {
    data?: string;
    attributes?: Record<string, string>;
    messageId: string;
    publishTime: string;
    deliveryAttempt?: number;
  };
}

export interface PubSubCloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time?: string;
  datacontenttype?: string;
  data?: PubSubMessageData;
}

export function toCloudEvent(
  projectId: string,
  topic: string,
  message: OutgoingMessage,
  messageId: string,
  publishTime: Date,
  deliveryAttempt: number,
): PubSubCloudEvent {
  return {
    specversion: '1.0',
    id: messageId,
    source: `//pubsub.googleapis.com/projects/${projectId}/topics/${topic}`,
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    time: publishTime.toISOString(),
    datacontenttype: 'application/json',
    data: {
      subscription: `projects/${projectId}/subscriptions/${topic}-local`,
      message: {
        data: message.data.toString('base64'),
        attributes: message.attributes,
        messageId,
        publishTime: publishTime.toISOString(),
        deliveryAttempt,
      },
    },
  };
}
